package bff

import (
	"handheld/bff/middleware"
	"handheld/services"
)

// employerRoutes is the employer routes' policy (docs/api.md § Operators):
// which operator roles may use each /api/v1/employer route. Clerks do the
// unit's business; the administrator does everything a clerk does, and
// alone manages the unit's operators. Every employer route must have an
// entry (TestEveryEmployerRouteHasAPolicy): one without is refused.
func employerRoutes() middleware.OperatorRoutes {
	both := []services.OperatorRole{services.OperatorAdmin, services.OperatorClerk}
	admin := []services.OperatorRole{services.OperatorAdmin}
	return middleware.OperatorRoutes{
		"GET /api/v1/employer/unit":                                   both,
		"GET /api/v1/employer/staff":                                  both,
		"GET /api/v1/employer/staff/:staff_id":                        both,
		"POST /api/v1/employer/staff/:staff_id/reveal":                both,
		"POST /api/v1/employer/bases":                                 both,
		"POST /api/v1/employer/staff":                                 both,
		"POST /api/v1/employer/staff/:staff_id/leave":                 both,
		"POST /api/v1/employer/staff/:staff_id/rejoin":                both,
		"GET /api/v1/employer/staff-changes":                          both,
		"GET /api/v1/employer/staff-changes/:id":                      both,
		"GET /api/v1/employer/remittances":                            both,
		"GET /api/v1/employer/remittances/:month":                     both,
		"POST /api/v1/employer/remittances/:month/declare":            both,
		"POST /api/v1/employer/remittances/:month/supplement":         both,
		"GET /api/v1/employer/arrears":                                both,
		"POST /api/v1/employer/certificates":                          both,
		"GET /api/v1/employer/certificates":                           both,
		"GET /api/v1/employer/certificates/:id":                       both,
		"POST /api/v1/employer/certificates/:id/revoke":               both,
		"POST /api/v1/employer/jobs":                                  both,
		"GET /api/v1/employer/jobs/templates/:file":                   both,
		"GET /api/v1/employer/jobs/:id":                               both,
		"GET /api/v1/employer/jobs/:id/errors":                        both,
		"GET /api/v1/employer/operators":                              admin,
		"POST /api/v1/employer/operators":                             admin,
		"POST /api/v1/employer/operators/:operator_id/disable":        admin,
		"POST /api/v1/employer/operators/:operator_id/enable":         admin,
		"POST /api/v1/employer/operators/:operator_id/reset-password": admin,
	}
}
