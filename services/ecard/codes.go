package ecard

import "handheld/services"

// The e-card error codes, declared in services/errors.go with their HTTP
// statuses and locale texts; repeated here for readability at call sites.
const (
	CodeMalformed     = services.CodeECardMalformed
	CodeBadSignature  = services.CodeECardBadSignature
	CodeExpired       = services.CodeECardExpired
	CodeReplayed      = services.CodeECardReplayed
	CodeStatusUnknown = services.CodeECardStatusUnknown
)
