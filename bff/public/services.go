package public

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/catalogue"
)

// ServiceCatalogue is what the catalogue routes need;
// *catalogue.Catalogue provides it.
type ServiceCatalogue interface {
	Version() string
	Items(f catalogue.Filter) []catalogue.Service
	Item(code string) (catalogue.Service, bool)
	Availability(s catalogue.Service) []catalogue.Availability
}

// Services serves the service catalogue: GET /api/v1/services and
// /api/v1/services/{code}, public and cacheable. A client builds its menus
// from it; the hours it shows are the ones the routes enforce.
type Services struct {
	Catalogue ServiceCatalogue
	Catalogs  *locales.Catalogs
}

// CatalogueCacheControl lets browsers and proxies keep the catalogue five
// minutes, then revalidate it with its ETag (304 when unchanged).
const CatalogueCacheControl = "public, max-age=300"

// ServiceListBody is GET /api/v1/services.
type ServiceListBody struct {
	Version string        `json:"version"`
	Items   []ServiceBody `json:"items"`
}

// ServiceBody is one service in the request's language.
type ServiceBody struct {
	Code     string `json:"code"`
	Category string `json:"category"`
	Name     string `json:"name"`
	Summary  string `json:"summary,omitempty"`
	// Roles may use it (public: anyone, without signing in); Channels
	// offer it.
	Roles      []string       `json:"roles"`
	Channels   []string       `json:"channels"`
	Conditions []string       `json:"conditions"`
	Materials  []MaterialBody `json:"materials"`
	// Time limits in working days; 0 is on the spot.
	LegalWorkingDays    int   `json:"legal_working_days"`
	PromisedWorkingDays int   `json:"promised_working_days"`
	FeeFen              int64 `json:"fee_fen"`
	// Hours is when it is open on each of its channels.
	Hours          []HoursBody `json:"hours"`
	Switches       []string    `json:"switches"`
	WithdrawalKind string      `json:"withdrawal_kind,omitempty"`
	Path           string      `json:"path,omitempty"`
	// Version is the catalogue's, on GET /api/v1/services/{code} only.
	Version string `json:"version,omitempty"`
}

// MaterialBody is one material: what to show, and the shared-data facts
// that spare the person from showing it.
type MaterialBody struct {
	Code     string       `json:"code"`
	Name     string       `json:"name"`
	Sources  []SourceBody `json:"sources"`
	Upload   bool         `json:"upload"`
	Optional bool         `json:"optional"`
}

// SourceBody is a shared-data fact ("source.fact") and its source's name.
type SourceBody struct {
	Fact string `json:"fact"`
	Name string `json:"name"`
}

// HoursBody is one channel's hours: closed when a switch is off, else open
// within every window (none: around the clock), Asia/Shanghai.
type HoursBody struct {
	Channel string   `json:"channel"`
	Open    bool     `json:"open"`
	Windows []string `json:"windows"`
}

// List is GET /api/v1/services?channel=&role=.
func (h Services) List(c *fiber.Ctx) error {
	q := request.NewQuery(c)
	f := catalogue.Filter{Channel: q.OneOf("channel", "", catalogue.Channels()...), Role: q.OneOf("role", "", catalogue.Roles()...)}
	if err := q.Err(); err != nil {
		return err
	}
	lang := h.lang(c)
	items := h.Catalogue.Items(f)
	body := ServiceListBody{Version: h.Catalogue.Version(), Items: make([]ServiceBody, 0, len(items))}
	for _, s := range items {
		body.Items = append(body.Items, h.body(s, lang))
	}
	return cacheable(c, body)
}

// Get is GET /api/v1/services/{code}; an unknown code is 404.
func (h Services) Get(c *fiber.Ctx) error {
	s, ok := h.Catalogue.Item(c.Params("code"))
	if !ok {
		return services.Errorf(services.CodeNotFound, "service catalogue: no such code")
	}
	b := h.body(s, h.lang(c))
	b.Version = h.Catalogue.Version()
	return cacheable(c, b)
}

func (h Services) lang(c *fiber.Ctx) string {
	lang := middleware.Lang(c, h.Catalogs)
	c.Set(fiber.HeaderContentLanguage, lang)
	return lang
}

func (h Services) body(s catalogue.Service, lang string) ServiceBody {
	b := ServiceBody{Code: s.Code, Category: s.Category, Name: s.Name.In(lang), Summary: s.Summary.In(lang),
		Roles: nonNil(s.Roles), Channels: nonNil(s.Channels), Conditions: []string{}, Materials: []MaterialBody{},
		LegalWorkingDays: s.LegalWorkingDays, PromisedWorkingDays: s.PromisedWorkingDays, FeeFen: s.FeeFen,
		Hours: []HoursBody{}, Switches: []string{}, WithdrawalKind: s.WithdrawalKind, Path: s.Path}
	for _, t := range s.Conditions {
		b.Conditions = append(b.Conditions, t.In(lang))
	}
	for _, m := range s.Materials {
		mb := MaterialBody{Code: m.Code, Name: m.Name.In(lang), Sources: []SourceBody{}, Upload: m.Upload, Optional: m.Optional}
		for _, f := range m.Sources {
			source, _, _ := strings.Cut(f, ".")
			mb.Sources = append(mb.Sources, SourceBody{Fact: f, Name: h.Catalogs.T(lang, "sharing.source."+source, nil)})
		}
		b.Materials = append(b.Materials, mb)
	}
	for _, a := range h.Catalogue.Availability(s) {
		b.Hours = append(b.Hours, HoursBody{Channel: a.Channel, Open: !a.Off, Windows: nonNil(a.Hours)})
	}
	for _, sw := range s.Switches {
		b.Switches = append(b.Switches, string(sw))
	}
	return b
}

// cacheable answers v with a strong ETag over the bytes sent (so it
// differs per language and filter, and changes with the catalogue), or
// 304 when If-None-Match names it.
func cacheable(c *fiber.Ctx, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, CatalogueCacheControl)
	c.Vary(fiber.HeaderAcceptLanguage)
	if noneMatch(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(raw)
}

// noneMatch reports whether an If-None-Match header names etag: "*", or
// one of its tags compared weakly, as RFC 9110 §13.1.2 has it for GET.
func noneMatch(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
