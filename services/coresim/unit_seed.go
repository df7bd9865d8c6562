package coresim

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"

	"handheld/services/core"
)

// unitsSeed feeds the seeded units' staff through the load generator's
// person derivation, so the names, phones and cards look alike.
const unitsSeed = 20_240_701

// unitHistoryMonths is how many complete months of remittances every
// seeded unit has on record (bills, lines and ledger).
const unitHistoryMonths = 12

// seededUnit is an employer of several sizes, seeded with generated staff
// and a year of declared and paid months.
type seededUnit struct {
	prefix, region, org8 string // unit code: 91 company or 92 individual business
	name                 string
	accountNumber        string
	rateBP               int
	size                 int
	arrears              int // the last complete months not remitted
	large                bool
	operatorID           string
	operatorName         string
	password             string
	bankName             string
	bankAccount          string
	notes                string
}

func (u seededUnit) code() string { return withUnitCheck(u.prefix + u.region + orgCode(u.org8)) }

// seededUnits are the sizes the employer app is tried on. Functions, like
// the demo seed, so nothing in the package is mutable state.
func seededUnits() []seededUnit {
	return []seededUnit{
		{prefix: "92", region: "330106", org8: "L8XQ2M4N", name: "杭州西溪阿芳面馆", accountNumber: "330100300011", rateBP: 500, size: 3,
			operatorID: "shop01", operatorName: "方阿芳", password: "Xixi@2024",
			bankName: "杭州银行", bankAccount: "3301040160012345671",
			notes: "a 3-person noodle shop (individual business), 5% + 5%, bases near the minimum"},
		{prefix: "91", region: "330108", org8: "MA7YQ3R2", name: "杭州云栖数据科技有限公司", accountNumber: "330100300027", rateBP: 1000, size: 50, arrears: 2,
			operatorID: "yunqi01", operatorName: "沈佳怡", password: "Yunqi@2024",
			bankName: "招商银行", bankAccount: "571908123410601",
			notes: "a ~50-person firm, 10% + 10%, the last 2 complete months not remitted (arrears)"},
		{prefix: "91", region: "330110", org8: "MA2H8K5P", name: "浙江之江精密制造股份有限公司", accountNumber: "330100300035", rateBP: 1200, size: 500, large: true,
			operatorID: "zhijiang01", operatorName: "陆建华", password: "Zhijiang@2024",
			bankName: "中国工商银行", bankAccount: "1202021409900123456",
			notes: "a ~500-person manufacturer, 12% + 12% (LargeUnits)"},
		{prefix: "91", region: "330102", org8: "MA6C3T9W", name: "杭州湾区物流集团有限公司", accountNumber: "330100300043", rateBP: 800, size: 5000, large: true,
			operatorID: "wanqu01", operatorName: "杨思远", password: "Wanqu@2024",
			bankName: "中国建设银行", bankAccount: "33050161672700001234",
			notes: "a 5,000-person logistics group, 8% + 8% (LargeUnits)"},
	}
}

// seededStaff is how many people the seeded units of the set (large or
// not) employ.
func seededStaff(large bool) int {
	n := 0
	for _, u := range seededUnits() {
		if u.large == large {
			n += u.size
		}
	}
	return n
}

// seededUnitCount is how many units the set (large or not) has.
func seededUnitCount(large bool) int {
	n := 0
	for _, u := range seededUnits() {
		if u.large == large {
			n++
		}
	}
	return n
}

// unitStaffRegions are county codes the load generator and the demo seed
// never use, so seeded staff can share a database with a generation.
const unitStaffRegions = "330103 330104 330181 330184 "

// unitStaffPerson is staff member k of the seeded units (k counts across
// them; j within its unit): the generator's person with its own id space.
// In units of 50 and more the second has left (sealed) and the third is
// frozen, so every unit large enough shows both.
func unitStaffPerson(k, j int, u seededUnit, p core.Policy) genPerson {
	g := generatedPerson(k, unitsSeed)
	day := (k/500*7919 + int(unitsSeed%birthDays)) % birthDays
	birth := time.Date(1966, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day)
	g.idNumber = withIDCheck(pick(unitStaffRegions, 7, mix(unitsSeed, k, 1))[:6] + birth.Format("20060102") + fmt.Sprintf("%03d", 500+k%500))
	g.personID = fmt.Sprintf("P3%09d", k)
	g.accountNumber = fmt.Sprintf("33013%07d", k)
	g.face = fmt.Sprintf("face:unit-%d", k)
	g.loan = nil
	if u.size <= 3 {
		g.baseFen = p.MinBaseFen + 100*int64(mix(unitsSeed, k, 30)%1500) // a shop pays near the minimum
		g.status, g.lastAgo = core.StatusNormal, 0
	}
	if u.size >= 50 && j == 1 {
		g.status, g.lastAgo = core.StatusSealed, 3
	}
	if u.size >= 50 && j == 2 {
		g.status, g.lastAgo = core.StatusFrozen, 0
	}
	g.baseFen = min(max(g.baseFen, p.MinBaseFen), p.MaxBaseFen)
	if g.status == core.StatusSealed && g.lastAgo >= unitHistoryMonths {
		g.lastAgo = unitHistoryMonths - 1
	}
	return g
}

// seedUnits seeds the always-present units (and the demo units' history)
// once, and the large ones once when asked: meta rows mark each done, so a
// file seeded before units existed gets them when next opened.
func (s *Sim) seedUnits(ctx context.Context) error {
	if err := s.seedUnitSet(ctx, "units_seeded_at", false); err != nil {
		return err
	}
	if err := s.seedClerks(ctx); err != nil {
		return err
	}
	if s.largeUnits {
		return s.seedUnitSet(ctx, "large_units_seeded_at", true)
	}
	return nil
}

func (s *Sim) seedUnitSet(ctx context.Context, key string, large bool) error {
	done, err := metaValue(ctx, s.wdb, key)
	if err != nil || done != "" {
		return err
	}
	began := time.Now()
	units := seededUnits()
	// Hashing is most of a small seed's time: one goroutine per operator.
	hashes := make([]string, len(units))
	var g errgroup.Group
	for i, u := range units {
		if u.large != large {
			continue
		}
		g.Go(func() error {
			h, err := bcrypt.GenerateFromPassword([]byte(u.password), s.bcryptCost)
			hashes[i] = string(h)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("coresim: hash unit password: %w", err)
	}
	now := s.now()
	last := monthOf(now) - 1
	from := last - unitHistoryMonths + 1
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		k := 0
		for i, u := range units {
			if u.large != large {
				k += u.size
				continue
			}
			if err := seedUnit(ctx, tx, u, k, hashes[i], s.policy, last); err != nil {
				return fmt.Errorf("unit %s: %w", u.name, err)
			}
			if err := deriveUnitHistory(ctx, tx, u.code(), from); err != nil {
				return err
			}
			k += u.size
		}
		if !large {
			for _, u := range demoUnits() {
				if _, err := tx.ExecContext(ctx, `UPDATE units SET bank_name = ?, bank_account = ? WHERE unit_code = ?`,
					"中国工商银行", "12020214099000"+u.accountNumber[7:], u.code()); err != nil {
					return err
				}
				if err := deriveUnitHistory(ctx, tx, u.code(), from); err != nil {
					return err
				}
			}
		}
		return setMeta(ctx, tx, key, now.UTC().Format(time.RFC3339))
	})
	if err != nil {
		return fmt.Errorf("coresim: seed units: %w", err)
	}
	s.log.Info("coresim: seeded units", "large", large, "ms", time.Since(began).Milliseconds())
	return nil
}

// seedUnit writes a unit, its operator and its staff (first staff index
// k) with their ledgers: remittances for the last year up to the month
// before the arrears, sealed staff stopping when they left.
func seedUnit(ctx context.Context, tx *sql.Tx, u seededUnit, k int, hash string, p core.Policy, last month) error {
	paidUpTo := last - month(u.arrears)
	if _, err := tx.ExecContext(ctx, `INSERT INTO units (unit_code, name, account_number, status, unit_rate_bp, personal_rate_bp, paid_up_to,
			opened_month, bank_name, bank_account) VALUES (?, ?, ?, '01', ?, ?, ?, ?, ?, ?)`,
		u.code(), u.name, u.accountNumber, u.rateBP, u.rateBP, paidUpTo.String(), (last - unitHistoryMonths + 1).String(), u.bankName, u.bankAccount); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO operators (unit_code, operator_id, name, password_hash) VALUES (?, ?, ?, ?)`,
		u.code(), u.operatorID, u.operatorName, hash); err != nil {
		return err
	}
	person, err := tx.PrepareContext(ctx, `INSERT INTO persons (person_id, name, id_number, phone, bank_card, face_token) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer person.Close()
	account, err := tx.PrepareContext(ctx, `INSERT INTO accounts (person_id, account_number, status, unit_code, deposit_base_fen,
		personal_rate_bp, unit_rate_bp, opened_on, balance_fen, sealed_month, seal_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer account.Close()
	one, err := tx.PrepareContext(ctx, depositInsert)
	if err != nil {
		return err
	}
	defer one.Close()
	bulk, err := tx.PrepareContext(ctx, depositInsert+bulkValues())
	if err != nil {
		return err
	}
	defer bulk.Close()
	deposits := &depositWriter{one: one, bulk: bulk}
	for j := range u.size {
		g := unitStaffPerson(k+j, j, u, p)
		if _, err := person.ExecContext(ctx, g.personID, g.name, g.idNumber, g.phone, g.card, g.face); err != nil {
			return err
		}
		personal, unit := monthlyShares(g.baseFen, u.rateBP, u.rateBP)
		plan := ledgerPlan{through: last, lastRemit: paidUpTo, monthly: personal + unit}
		sealedMonth, reason := "", ""
		if g.status == core.StatusSealed {
			plan.lastRemit = min(paidUpTo, last-month(g.lastAgo))
			sealedMonth, reason = plan.lastRemit.String(), core.LeaveResigned
		}
		// Most were there all the year on record; some joined during it.
		// (Their accounts start with it: older history would only slow
		// the seed of the 5,000-person unit.)
		plan.first = last - unitHistoryMonths + 1
		if mix(unitsSeed, k+j, 32)%10 == 0 {
			plan.first = last - month(mix(unitsSeed, k+j, 33)%unitHistoryMonths)
		}
		plan.first = min(plan.first, plan.lastRemit-1) // two months on record at least
		var balance int64
		for n, e := range plan.entries() {
			if err := deposits.add(ctx, g.personID, n+1, e); err != nil {
				return err
			}
			balance = e.balanceAfter
		}
		if _, err := account.ExecContext(ctx, g.personID, g.accountNumber, g.status, u.code(), g.baseFen, u.rateBP, u.rateBP,
			date(plan.first.day(3)), balance, sealedMonth, reason); err != nil {
			return err
		}
	}
	return deposits.flush(ctx)
}

// bulkValues is the rest of a depositBulk-row INSERT after the first row.
func bulkValues() string {
	b := make([]byte, 0, 32*depositBulk)
	for range depositBulk - 1 {
		b = append(b, ", (?, ?, ?, ?, ?, ?, ?, ?)"...)
	}
	return string(b)
}

// deriveUnitHistory records a unit's paid months from its staff's ledgers
// (every remittance from month from on): the bills' lines, one paid bill
// per month and its ledger entry, so the unit's and its staff's books
// agree.
func deriveUnitHistory(ctx context.Context, tx *sql.Tx, unitCode string, from month) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO unit_bill_lines (unit_code, month, person_id, base_fen, personal_fen, unit_fen)
		SELECT a.unit_code, d.month, a.person_id, a.deposit_base_fen,
			(a.deposit_base_fen * a.personal_rate_bp * 2 + 10000) / 20000, (a.deposit_base_fen * a.unit_rate_bp * 2 + 10000) / 20000
		FROM accounts a JOIN deposits d ON d.person_id = a.person_id
		WHERE a.unit_code = ? AND d.kind = 'remittance' AND d.month >= ?`, unitCode, from.String()); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT month, count(*), sum(base_fen), sum(personal_fen), sum(unit_fen)
		FROM unit_bill_lines WHERE unit_code = ? GROUP BY month ORDER BY month`, unitCode)
	if err != nil {
		return err
	}
	type header struct {
		month                  string
		n                      int
		base, personal, unitFs int64
	}
	var hs []header
	for rows.Next() {
		var h header
		if err := rows.Scan(&h.month, &h.n, &h.base, &h.personal, &h.unitFs); err != nil {
			rows.Close()
			return err
		}
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i, h := range hs {
		m, err := parseMonth(h.month)
		if err != nil {
			return err
		}
		declared := m.day(10).Add(10 * time.Hour)
		collecting := m.day(15).Add(9 * time.Hour)
		if _, err := tx.ExecContext(ctx, `INSERT INTO unit_remittances (unit_code, month, kind, status, version, request_id, headcount,
				base_total_fen, personal_total_fen, unit_total_fen, interest_fen, declared_at, collecting_at, done_at)
				VALUES (?, ?, 'regular', 'paid', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
			unitCode, h.month, "h"+h.month, "seed-"+h.month, h.n, h.base, h.personal, h.unitFs,
			declared.UnixNano(), collecting.UnixNano(), collecting.Add(time.Hour).UnixNano()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO unit_ledger (unit_code, seq, month, posted_on, kind, amount_fen, headcount)
				VALUES (?, ?, ?, ?, 'remittance', ?, ?)`, unitCode, i+1, h.month, date(m.day(15)), h.personal+h.unitFs, h.n); err != nil {
			return err
		}
	}
	return nil
}

// UnitPersonas are the seeded units' operators, the large units' only when
// Config.LargeUnits seeded them: how to sign in and what each unit shows.
func (s *Sim) UnitPersonas() []Persona {
	var out []Persona
	for _, u := range seededUnits() {
		if u.large && !s.largeUnits {
			continue
		}
		out = append(out, Persona{Role: "employer", Name: u.operatorName, UnitCode: u.code(),
			OperatorID: u.operatorID, Password: u.password, OperatorRole: core.OperatorAdmin, Notes: u.name + ": " + u.notes})
	}
	for _, c := range seededClerks() {
		u := c.unit()
		out = append(out, Persona{Role: "employer", Name: c.name, UnitCode: u.code(), OperatorID: c.operatorID, Password: c.password,
			OperatorRole: core.OperatorClerk, Notes: u.name + ": a clerk (staff, bases, remittances; no operator management)"})
	}
	return out
}

// seededClerk is a clerk beside a seeded unit's administrator: the
// operator the demo's administrator manages. Clerks do the unit's business
// but cannot manage operators.
type seededClerk struct {
	unit                       func() seededUnit
	operatorID, name, password string
}

// seededClerks are the clerks of the always-present units.
func seededClerks() []seededClerk {
	return []seededClerk{
		{unit: func() seededUnit { return seededUnits()[0] }, operatorID: "shop02", name: "方小军", password: "Xixi-Clerk@2024"},
	}
}

// seedClerks adds the clerks once, also to a file seeded before operators
// had roles (whose one operator per unit became its administrator).
func (s *Sim) seedClerks(ctx context.Context) error {
	done, err := metaValue(ctx, s.wdb, "clerks_seeded_at")
	if err != nil || done != "" {
		return err
	}
	clerks := seededClerks()
	hashes := make([]string, len(clerks))
	for i, c := range clerks {
		if hashes[i], err = s.hash(c.password); err != nil {
			return fmt.Errorf("coresim: hash clerk password: %w", err)
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for i, c := range clerks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO operators (unit_code, operator_id, name, password_hash, role, status, must_change)
				VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (unit_code, operator_id) DO NOTHING`,
				c.unit().code(), c.operatorID, c.name, hashes[i], core.OperatorClerk, core.OperatorActive); err != nil {
				return fmt.Errorf("coresim: seed clerk: %w", err)
			}
		}
		return setMeta(ctx, tx, "clerks_seeded_at", s.now().UTC().Format(time.RFC3339))
	})
}

// GeneratedUnitPersona is generated unit u's operator, as a load test
// signs in to the employer app: 50 staff, paid up to the last month.
func GeneratedUnitPersona(u int, seed int64) Persona {
	g := generatedUnit(u, seed)
	return Persona{Role: "employer", Name: "操作员", UnitCode: g.code, OperatorID: GeneratedOperatorID,
		Password: GeneratedOperatorPassword, Notes: fmt.Sprintf("generated unit #%d: %s, %d staff", u, g.name, GeneratedStaffPerUnit)}
}
