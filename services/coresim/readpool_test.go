package coresim

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// Each query is prepared once and answered as the pool would answer it;
// a query that does not parse fails as it would unprepared; past the bound
// queries still run, unprepared.
func TestReadPoolPreparesEachQueryOnce(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	p := newReadPool(db)
	t.Cleanup(func() { _ = p.closeStatements(); _ = db.Close() })
	ctx := context.Background()
	for i := range 3 {
		var n int
		if err := p.QueryRowContext(ctx, `SELECT ? + 1`, i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("SELECT %d + 1 = %d, %v", i, n, err)
		}
	}
	if len(p.stmts) != 1 {
		t.Fatalf("%d statements kept for one query", len(p.stmts))
	}
	if err := p.QueryRowContext(ctx, `SELEC 1`).Scan(new(int)); err == nil {
		t.Fatal("a query that does not parse answered")
	}
	if _, err := p.QueryContext(ctx, `SELEC 1`); err == nil {
		t.Fatal("a query that does not parse answered rows")
	}
	for i := range maxPrepared + 10 {
		var n int
		if err := p.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d = %d, %v", i, n, err)
		}
	}
	if len(p.stmts) != maxPrepared {
		t.Fatalf("%d statements kept, want the bound %d", len(p.stmts), maxPrepared)
	}
}
