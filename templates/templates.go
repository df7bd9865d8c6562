// Package templates holds what people read that is not a message string:
// certificate layouts, the verify pages and the font they use, embedded so
// the binary carries them, and the WeChat notification templates per
// locale (notifications/). Texts stay in locales/ where a layout can name
// them; a layout per type and language lives here.
package templates

import "embed"

// FS is every template file.
//
//go:embed *
var FS embed.FS
