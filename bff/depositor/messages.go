package depositor

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/request"
	"handheld/locales"
	"handheld/services"
	"handheld/services/inbox"
)

// MessageUses is what the message centre's routes need from
// services/inbox; *inbox.Service provides it.
type MessageUses interface {
	List(ctx context.Context, p services.Principal, f inbox.Filter, locale string, limit int, cursor string) ([]inbox.Message, string, error)
	MarkRead(ctx context.Context, p services.Principal, id string) error
	Preferences(ctx context.Context, p services.Principal) (inbox.Preferences, error)
	SetPreferences(ctx context.Context, p services.Principal, u inbox.PreferencesUpdate) (inbox.Preferences, error)
	RecordGrants(ctx context.Context, p services.Principal, grants []inbox.Grant) ([]inbox.GrantState, error)
}

// Messages serves the message centre (issue 19) on the /api/v1/me group:
// the inbox, the preferences and the WeChat subscribe grants. The person
// is always the token's subject.
type Messages struct {
	Service  MessageUses
	Catalogs *locales.Catalogs
}

// Routes registers the message centre's routes on the /me group.
func (h Messages) Routes(me fiber.Router) {
	me.Get("/messages", h.List)
	me.Post("/messages/:id/read", h.Read)
	me.Get("/preferences", h.Preferences)
	me.Put("/preferences", h.SetPreferences)
	me.Post("/subscriptions", h.Subscribe)
}

// MessageBody is one message, in the caller's language.
type MessageBody struct {
	ID            string `json:"id"`
	Category      string `json:"category"`
	CategoryLabel string `json:"category_label"`
	Kind          string `json:"kind"`
	Title         string `json:"title"`
	Body          string `json:"body"`
	Link          string `json:"link,omitempty"`
	CreatedAt     string `json:"created_at"`
	Read          bool   `json:"read"`
	ReadAt        string `json:"read_at,omitempty"`
	// WeChat is what became of the WeChat copy (inbox.Push).
	WeChat string `json:"wechat"`
}

// MessageListBody is GET /api/v1/me/messages.
type MessageListBody struct {
	Items      []MessageBody `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// List is GET /api/v1/me/messages?category=&unread=&limit=&cursor=,
// newest first.
func (h Messages) List(c *fiber.Ctx) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	f := inbox.Filter{Category: c.Query("category")}
	switch c.Query("unread") {
	case "", "false":
	case "true":
		f.UnreadOnly = true
	default:
		return services.Invalid(services.FieldError{Field: "unread", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": "true, false"}})
	}
	lang := middleware.Lang(c, h.Catalogs)
	items, next, err := h.Service.List(c.UserContext(), middleware.PrincipalOf(c), f, lang, limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	t := textsFor(c, h.Catalogs)
	body := MessageListBody{Items: make([]MessageBody, 0, len(items)), NextCursor: next}
	for _, m := range items {
		b := MessageBody{ID: m.ID, Category: string(m.Category), CategoryLabel: t("message.category."+string(m.Category), nil),
			Kind: m.Kind, Title: m.Text.Title, Body: m.Text.Body, Link: m.Text.Link, CreatedAt: services.Instant(m.CreatedAt),
			Read: m.ReadAt != nil, WeChat: string(m.Push)}
		if m.ReadAt != nil {
			b.ReadAt = services.Instant(*m.ReadAt)
		}
		body.Items = append(body.Items, b)
	}
	return private(c).JSON(body)
}

// Read is POST /api/v1/me/messages/{id}/read: 204, also when read before;
// another person's message is message.not_found.
func (h Messages) Read(c *fiber.Ctx) error {
	if err := h.Service.MarkRead(c.UserContext(), middleware.PrincipalOf(c), c.Params("id")); err != nil {
		return err
	}
	return private(c).SendStatus(fiber.StatusNoContent)
}

// QuietHoursBody is the do-not-disturb window, "HH:MM" in the centre's time.
type QuietHoursBody struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// CategoryPreferenceBody is one category's choice.
type CategoryPreferenceBody struct {
	WeChat *bool `json:"wechat"`
}

// PreferencesBody is GET and PUT /api/v1/me/preferences. In a PUT,
// quiet_hours null (or absent) clears them and categories names only the
// categories to change.
type PreferencesBody struct {
	QuietHours *QuietHoursBody                   `json:"quiet_hours,omitempty"`
	Categories map[string]CategoryPreferenceBody `json:"categories"`
}

func preferencesBody(p inbox.Preferences) PreferencesBody {
	b := PreferencesBody{Categories: map[string]CategoryPreferenceBody{}}
	if p.Quiet.Set() {
		b.QuietHours = &QuietHoursBody{From: p.Quiet.From, To: p.Quiet.To}
	}
	for _, c := range inbox.Categories() {
		on := p.WeChat[c]
		b.Categories[string(c)] = CategoryPreferenceBody{WeChat: &on}
	}
	return b
}

// Preferences is GET /api/v1/me/preferences.
func (h Messages) Preferences(c *fiber.Ctx) error {
	p, err := h.Service.Preferences(c.UserContext(), middleware.PrincipalOf(c))
	if err != nil {
		return err
	}
	return private(c).JSON(preferencesBody(p))
}

// SetPreferences is PUT /api/v1/me/preferences: the preferences as they
// now are; an invalid body changes nothing.
func (h Messages) SetPreferences(c *fiber.Ctx) error {
	var req PreferencesBody
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	u := inbox.PreferencesUpdate{WeChat: map[string]bool{}}
	if req.QuietHours != nil {
		u.Quiet = inbox.QuietHours{From: req.QuietHours.From, To: req.QuietHours.To}
		if u.Quiet.From == "" || u.Quiet.To == "" {
			var fields []services.FieldError
			if u.Quiet.From == "" {
				fields = append(fields, services.FieldError{Field: "quiet_hours.from", Code: services.FieldRequired})
			}
			if u.Quiet.To == "" {
				fields = append(fields, services.FieldError{Field: "quiet_hours.to", Code: services.FieldRequired})
			}
			return services.Invalid(fields...)
		}
	}
	for name, pref := range req.Categories {
		if pref.WeChat == nil {
			return services.Invalid(services.FieldError{Field: "categories." + name + ".wechat", Code: services.FieldRequired})
		}
		u.WeChat[name] = *pref.WeChat
	}
	p, err := h.Service.SetPreferences(c.UserContext(), middleware.PrincipalOf(c), u)
	if err != nil {
		return err
	}
	return private(c).JSON(preferencesBody(p))
}

// SubscriptionsRequest is POST /api/v1/me/subscriptions: what
// wx.requestSubscribeMessage answered, per template.
type SubscriptionsRequest struct {
	Templates []SubscriptionAnswer `json:"templates"`
}

// SubscriptionAnswer is one template's answer: accept, reject or ban.
type SubscriptionAnswer struct {
	TemplateID string `json:"template_id"`
	Result     string `json:"result"`
}

// SubscriptionState is a template's grants after the call.
type SubscriptionState struct {
	TemplateID string `json:"template_id"`
	Remaining  int    `json:"remaining"`
	Banned     bool   `json:"banned"`
}

// SubscriptionsBody is the answer: each template named, in order.
type SubscriptionsBody struct {
	Templates []SubscriptionState `json:"templates"`
}

// Subscribe is POST /api/v1/me/subscriptions: records the answers, all or
// none; a template the centre does not use is
// subscription.template_unknown.
func (h Messages) Subscribe(c *fiber.Ctx) error {
	var req SubscriptionsRequest
	if err := request.DecodeJSON(c, &req); err != nil {
		return err
	}
	grants := make([]inbox.Grant, 0, len(req.Templates))
	for _, t := range req.Templates {
		grants = append(grants, inbox.Grant{TemplateID: t.TemplateID, Result: inbox.GrantResult(t.Result)})
	}
	states, err := h.Service.RecordGrants(c.UserContext(), middleware.PrincipalOf(c), grants)
	if err != nil {
		return err
	}
	body := SubscriptionsBody{Templates: make([]SubscriptionState, 0, len(states))}
	for _, s := range states {
		body.Templates = append(body.Templates, SubscriptionState{TemplateID: s.TemplateID, Remaining: s.Remaining, Banned: s.Banned})
	}
	return private(c).JSON(body)
}
