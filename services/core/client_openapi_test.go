package core

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

func loadOpenAPI(t *testing.T) (libopenapi.Document, *v3.Document) {
	t.Helper()
	doc, err := libopenapi.NewDocument(OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("openapi.yaml does not build a v3 model: %v", err)
	}
	return doc, &model.Model
}

func TestOpenAPIIsValid(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("openapi.yaml: %s: %s", e.Message, e.Reason)
		}
	}
}

// pathConstants reads core.go's Path* constants from the source, so a path
// added there without an operation here fails this test.
func pathConstants(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, file := range []string{"core.go", "unit.go", "operators.go", "loan.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		pathConstantsOf(t, f, out)
	}
	if len(out) < 13 {
		t.Fatalf("found only %d Path constants in core.go and unit.go: %v", len(out), out)
	}
	return out
}

// pathConstantsOf adds a file's Path* string constants to out.
func pathConstantsOf(t *testing.T, f *ast.File, out map[string]string) {
	t.Helper()
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Path") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				out[name.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
}

func TestOpenAPIHasEveryPath(t *testing.T) {
	_, model := loadOpenAPI(t)
	// Methods the client uses per path; every Path constant must be listed.
	methods := map[string][]string{
		"PathHealth":             {"get"},
		"PathPersonVerify":       {"post"},
		"PathFaceVerify":         {"post"},
		"PathPerson":             {"get"},
		"PathAccount":            {"get"},
		"PathDeposits":           {"get"},
		"PathLoan":               {"get"},
		"PathLoanSchedule":       {"get"},
		"PathCertificateFacts":   {"get"},
		"PathOperatorAuth":       {"post"},
		"PathUnit":               {"get"},
		"PathStaff":              {"get"},
		"PathWithdrawal":         {"get", "put"},
		"PathWithdrawalCancel":   {"post"},
		"PathWithdrawalMaterial": {"put"},
		"PathPayoutAccounts":     {"get"},
		"PathEvidenceCheck":      {"post"},
		"PathTransferIn":         {"put"},
		"PathReminderFacts":      {"post"},

		"PathPolicy":               {"get"},
		"PathUnitAccount":          {"get"},
		"PathUnitLedger":           {"get"},
		"PathStaffMember":          {"get"},
		"PathStaffChange":          {"put"},
		"PathAdjustment":           {"put"},
		"PathRemittances":          {"get"},
		"PathBill":                 {"get"},
		"PathDeclaration":          {"put"},
		"PathSupplement":           {"put"},
		"PathArrears":              {"get"},
		"PathUnitCertificateFacts": {"get"},

		"PathOperators":             {"get", "post"},
		"PathOperatorStatus":        {"put"},
		"PathOperatorPasswordReset": {"post"},
		"PathOperatorPassword":      {"post"},

		"PathLoanPolicy":           {"get"},
		"PathLoanPosition":         {"get"},
		"PathLoanRepaymentAccount": {"get", "put"},
		"PathLoanRepayments":       {"get"},
		"PathLoanApplications":     {"get"},
		"PathPrepayment":           {"get", "put"},
		"PathArrearsPayment":       {"put"},
	}
	for name, path := range pathConstants(t) {
		want, ok := methods[name]
		if !ok {
			t.Errorf("%s (%s) is new: add it to openapi.yaml and to this table", name, path)
			continue
		}
		item, ok := model.Paths.PathItems.Get(path)
		if !ok {
			t.Errorf("openapi.yaml has no path %s (%s)", path, name)
			continue
		}
		var got []string
		for m, op := range item.GetOperations().FromOldest() {
			got = append(got, m)
			if op.OperationId == "" {
				t.Errorf("%s %s has no operationId", m, path)
			}
			if _, ok := op.Responses.Codes.Get("200"); !ok {
				t.Errorf("%s %s has no 200 answer", m, path)
			}
		}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s methods (-want +got):\n%s", path, diff)
		}
	}
}

// TestOpenAPISchemasMatchGoTypes keeps the schemas and the Go types in step:
// the same JSON field names, required exactly when the field has no omitempty
// (what encoding/json always writes), and no additional properties, since
// the client decodes strictly.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	_, model := loadOpenAPI(t)
	types := map[string]any{
		"Error": ErrorBody{}, "RealNameCheck": RealNameCheck{}, "Person": Person{},
		"FaceCheck": FaceCheck{}, "FaceResult": FaceResult{}, "Account": Account{},
		"Deposit": Deposit{}, "DepositPage": DepositPage{}, "Loan": Loan{},
		"Instalment": Instalment{}, "SchedulePage": SchedulePage{},
		"CertificateFacts": CertificateFacts{}, "OperatorLogin": OperatorLogin{},
		"Operator": Operator{}, "Unit": Unit{}, "StaffMember": StaffMember{},
		"StaffPage": StaffPage{}, "Withdrawal": Withdrawal{}, "WithdrawalStatus": WithdrawalStatus{},
		"PayoutAccount": PayoutAccount{}, "PayoutAccountList": PayoutAccountList{},
		"EvidenceCheck": EvidenceCheck{}, "EvidenceResult": EvidenceResult{},

		"Policy": Policy{}, "UnitAccount": UnitAccount{}, "UnitLedgerEntry": UnitLedgerEntry{},
		"UnitLedgerPage": UnitLedgerPage{}, "StaffChange": StaffChange{}, "StaffChangeResult": StaffChangeResult{},
		"BaseChange": BaseChange{}, "Adjustment": Adjustment{}, "AdjustmentResult": AdjustmentResult{},
		"RemittanceMonth": RemittanceMonth{}, "RemittanceYear": RemittanceYear{}, "BillLine": BillLine{},
		"Bill": Bill{}, "Declaration": Declaration{}, "DeclarationResult": DeclarationResult{},
		"ArrearsMonth": ArrearsMonth{}, "Arrears": Arrears{}, "UnitCertificateFacts": UnitCertificateFacts{},

		"OperatorRecord": OperatorRecord{}, "OperatorList": OperatorList{}, "NewOperator": NewOperator{},
		"OperatorStatus": OperatorStatus{}, "PasswordReset": PasswordReset{}, "PasswordChange": PasswordChange{},

		"LoanPolicy": LoanPolicy{}, "LoanPosition": LoanPosition{}, "RepaymentAccount": RepaymentAccount{},
		"RepaymentAccountChange": RepaymentAccountChange{}, "Repayment": Repayment{}, "RepaymentPage": RepaymentPage{},
		"LoanApplication": LoanApplication{}, "LoanApplicationList": LoanApplicationList{}, "Prepayment": Prepayment{},
		"ArrearsPayment": ArrearsPayment{}, "PrepaymentStatus": PrepaymentStatus{},
	}
	for name, v := range types {
		proxy, ok := model.Components.Schemas.Get(name)
		if !ok {
			t.Errorf("openapi.yaml has no schema %s", name)
			continue
		}
		s := proxy.Schema()
		var wantProps, wantRequired []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag := rt.Field(i).Tag.Get("json")
			field, opts, _ := strings.Cut(tag, ",")
			wantProps = append(wantProps, field)
			if name == "Error" && field == "message" {
				continue // a vendor may leave it out; clients never read it
			}
			if !strings.Contains(opts, "omitempty") {
				wantRequired = append(wantRequired, field)
			}
		}
		var gotProps []string
		for p := range s.Properties.KeysFromOldest() {
			gotProps = append(gotProps, p)
		}
		gotRequired := slices.Clone(s.Required)
		for _, l := range [][]string{wantProps, wantRequired, gotProps, gotRequired} {
			slices.Sort(l)
		}
		if diff := cmp.Diff(wantProps, gotProps); diff != "" {
			t.Errorf("schema %s properties (-Go +yaml):\n%s", name, diff)
		}
		if diff := cmp.Diff(wantRequired, gotRequired); diff != "" {
			t.Errorf("schema %s required (-Go +yaml):\n%s", name, diff)
		}
		if !closed(s) {
			t.Errorf("schema %s allows additional properties; the client decodes strictly", name)
		}
	}
}

func closed(s *base.Schema) bool {
	return s.AdditionalProperties != nil && s.AdditionalProperties.IsB() && !s.AdditionalProperties.B
}
