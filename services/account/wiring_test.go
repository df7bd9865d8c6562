package account

import (
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
)

// The production collaborators satisfy the interfaces this package declares;
// a change of signature on either side fails here, not at the wiring point.
var (
	_ reader  = (*core.Reader)(nil)
	_ people  = (*identity.Service)(nil)
	_ auditor = (*audit.Log)(nil)
)
