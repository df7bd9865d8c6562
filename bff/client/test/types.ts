// Compile-time checks of the client's types against the generated schema:
// `npm run check` compiles this file and runs nothing. Each @ts-expect-error
// is a call the types must refuse.
import { Client, type Tokens } from "../src/index.js";

declare const c: Client;

export async function typed(): Promise<void> {
  // A GET without parameters needs no init; the answer is typed.
  const account = await c.get("/api/v1/me/account");
  const balance: number = account.data.balance_fen;
  // @ts-expect-error the balance is a number of fen
  const asText: string = account.data.balance_fen;

  // Path parameters are required where the path has them.
  await c.get("/api/v1/me/withdrawals/{id}", { params: { path: { id: "w1" } } });
  // @ts-expect-error the id is missing
  await c.get("/api/v1/me/withdrawals/{id}");

  // A creating write needs its Idempotency-Key and its body.
  const accepted = await c.post("/api/v1/me/withdrawals", {
    params: { header: { "Idempotency-Key": "k-1" } },
    body: { type: "rent", amount_fen: 100_00, payout: { account_id: "p1" } },
  });
  const status: number = accepted.status;
  // @ts-expect-error no Idempotency-Key
  await c.post("/api/v1/me/withdrawals", { body: { type: "rent", amount_fen: 1, payout: { account_id: "p1" } } });
  await c.post("/api/v1/me/withdrawals", {
    params: { header: { "Idempotency-Key": "k-2" } },
    // @ts-expect-error money is an integer of fen, not a string
    body: { type: "rent", amount_fen: "100", payout: { account_id: "p1" } },
  });

  // Sign-in answers are tokens.
  const t = await c.post("/api/v1/auth/refresh", { body: { refresh_token: "rt" } });
  const tokens: Tokens = t.data;

  // @ts-expect-error no such route
  await c.get("/api/v1/me/nothing");
  // @ts-expect-error refresh is POST only
  await c.get("/api/v1/auth/refresh");
  void balance, asText, status, tokens;
}
