package inbox

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// Push is what became of a message's WeChat copy.
type Push string

// The states of a message's WeChat copy. Pending and Deferred may still
// change; the others are final.
const (
	PushPending     Push = "pending"      // not decided yet
	PushDeferred    Push = "deferred"     // waiting for the quiet hours to end
	PushSent        Push = "sent"         // WeChat accepted it
	PushOff         Push = "off"          // the person keeps this category out of WeChat
	PushNoGrant     Push = "no_grant"     // no subscribe grant left for its template
	PushNoRecipient Push = "no_recipient" // the person never used the mini-program
	PushRefused     Push = "refused"      // WeChat says the person accepts no more
)

// Final reports a state that no later delivery changes.
func (p Push) Final() bool { return p != PushPending && p != PushDeferred }

// Message is one message of a person's inbox.
type Message struct {
	ID        string
	Subject   string
	Category  Category
	Kind      string // the notification's kind: a case status, a security notice
	Content   []byte // the event it was made from, for the Renderer
	Push      Push
	CreatedAt time.Time
	ReadAt    *time.Time
	Text      Text // rendered in the reader's language (List)
}

// Post is a message to put in a person's inbox.
type Post struct {
	Subject  string
	Key      string // unique per person: the same key posted twice is one message
	Category Category
	Kind     string
	Content  []byte
	At       time.Time // when it happened; the Service's clock when zero
}

// idShape is a message id as Post makes them.
var idShape = regexp.MustCompile(`^msg_[0-9a-f]{24}$`)

// Post puts m in its person's inbox, once per key: posting a key again
// (an outbox delivery retried) returns the message already there, with
// created false.
func (s *Service) Post(ctx context.Context, m Post) (msg Message, created bool, err error) {
	msgs, news, err := s.PostAll(ctx, m)
	if err != nil {
		return Message{}, false, err
	}
	return msgs[0], news[0], nil
}

// PostAll is Post for several messages, in one statement: the messages in
// the order given, and whether each was new. A key posted before, or twice
// in ps, gives the message that holds it.
func (s *Service) PostAll(ctx context.Context, ps ...Post) (msgs []Message, created []bool, err error) {
	if len(ps) == 0 {
		return nil, nil, nil
	}
	msgs, created = make([]Message, len(ps)), make([]bool, len(ps))
	var values strings.Builder
	args := make([]any, 0, 8*len(ps))
	for i, m := range ps {
		switch {
		case m.Subject == "" || m.Key == "" || m.Kind == "":
			return nil, nil, errors.New("inbox: post without subject, key or kind")
		case !m.Category.Valid():
			return nil, nil, errors.New("inbox: post of unknown category " + string(m.Category))
		}
		at := m.At
		if at.IsZero() {
			at = s.now()
		}
		id := "msg_" + services.RandomHex(12)
		content, err := s.store.SealText(string(m.Content), sealedContent.Place(id))
		if err != nil {
			return nil, nil, services.Errorf(services.CodeInternal, "inbox: post: %w", err)
		}
		msgs[i] = Message{ID: id, Subject: m.Subject, Category: m.Category, Kind: m.Kind, Content: m.Content,
			Push: PushPending, CreatedAt: store.Timestamp(at)}
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(" + store.Placeholders(8*i+1, 8) + ")")
		args = append(args, id, m.Subject, m.Key, string(m.Category), m.Kind, content, string(PushPending), store.Timestamp(at))
	}
	inserted, err := store.Set(s.store.Query(ctx, `INSERT INTO messages (id, subject, dedupe_key, category, kind, content, push, created_at)
		VALUES `+values.String()+` ON CONFLICT (subject, dedupe_key) DO NOTHING RETURNING id`, args...))
	if err != nil {
		return nil, nil, services.Errorf(services.CodeInternal, "inbox: post: %w", err)
	}
	for i, m := range ps {
		if created[i] = inserted[msgs[i].ID]; !created[i] {
			// Posted before: the message that holds the key.
			if msgs[i], err = s.byKey(ctx, m.Subject, m.Key); err != nil {
				return nil, nil, err
			}
		}
	}
	return msgs, created, nil
}

// messageColumns are what scanMessage reads, in its order.
const messageColumns = `id, subject, category, kind, content, push, created_at, read_at`

func (s *Service) scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var category, push, content string
	var read time.Time
	if err := row.Scan(&m.ID, &m.Subject, &category, &m.Kind, &content, &push, store.ScanTime(&m.CreatedAt), store.ScanTime(&read)); err != nil {
		return Message{}, err
	}
	plain, err := s.store.OpenText(content, sealedContent.Place(m.ID))
	if err != nil {
		return Message{}, err
	}
	m.Category, m.Push, m.Content = Category(category), Push(push), []byte(plain)
	if !read.IsZero() {
		m.ReadAt = &read
	}
	return m, nil
}

func (s *Service) byKey(ctx context.Context, subject, key string) (Message, error) {
	m, err := s.scanMessage(s.store.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE subject = $1 AND dedupe_key = $2`,
		subject, key))
	if err != nil {
		return Message{}, services.Errorf(services.CodeInternal, "inbox: read posted message: %w", err)
	}
	return m, nil
}

// Pushed records what became of message id's WeChat copy, in the message
// and, once final, in the audit trail: every push the centre makes, or
// decides against, is on record (issue 19, part 5).
func (s *Service) Pushed(ctx context.Context, m Message, push Push) error {
	return s.PushedAll(ctx, PushRecord{Message: m, Push: push})
}

// PushRecord is what became of a message's WeChat copy, for PushedAll.
type PushRecord struct {
	Message Message
	Push    Push
}

// PushedAll is Pushed for several messages: one UPDATE per outcome.
func (s *Service) PushedAll(ctx context.Context, rs ...PushRecord) error {
	at := store.Timestamp(s.now())
	byPush := map[Push][]string{}
	var pushes []Push
	for _, r := range rs {
		if _, seen := byPush[r.Push]; !seen {
			pushes = append(pushes, r.Push)
		}
		byPush[r.Push] = append(byPush[r.Push], r.Message.ID)
	}
	for _, push := range pushes {
		ids := byPush[push]
		if _, err := s.store.Exec(ctx, `UPDATE messages SET push = $1, pushed_at = $2 WHERE id IN (`+store.Placeholders(3, len(ids))+`)`,
			append([]any{string(push), at}, store.Args(ids...)...)...); err != nil {
			return services.Errorf(services.CodeInternal, "inbox: record push: %w", err)
		}
	}
	for _, r := range rs {
		if !r.Push.Final() {
			continue
		}
		result := "ok"
		if r.Push != PushSent {
			result = "denied"
		}
		if err := s.audit.Enqueue(ctx, audit.Record{At: at, Subject: r.Message.Subject, Actor: "system", Channel: "system",
			Action: ActionPush, Target: "message:" + r.Message.ID + ":" + string(r.Push), RequestID: services.RequestID(ctx), Result: result}); err != nil {
			return err
		}
	}
	return nil
}

// Filter narrows a list: one category, unread only.
type Filter struct {
	Category   string // "" for every category
	UnreadOnly bool
}

// List is p's messages, newest first, limit (1–MaxLimit; 0 means
// DefaultLimit) at a time from cursor, a previous page's next, each
// rendered in locale.
func (s *Service) List(ctx context.Context, p services.Principal, f Filter, locale string, limit int,
	cursor string) (items []Message, next string, err error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	var fields []services.FieldError
	if limit < 1 || limit > MaxLimit {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": MaxLimit}})
	}
	if f.Category != "" && !Category(f.Category).Valid() {
		fields = append(fields, services.FieldError{Field: "category", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": categoryNames()}})
	}
	after, ok := parseCursor(cursor)
	if !ok {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return nil, "", services.Invalid(fields...)
	}
	items, err = s.page(ctx, p.Subject, f, limit+1, after, locale)
	if err := s.record(ctx, p, ActionList, "self", err); err != nil {
		return nil, "", err
	}
	if len(items) > limit {
		items = items[:limit]
		next = positionOf(items[limit-1]).String()
	}
	return items, next, nil
}

func (s *Service) page(ctx context.Context, subject string, f Filter, limit int, after position, locale string) ([]Message, error) {
	query := `SELECT ` + messageColumns + ` FROM messages WHERE subject = $1`
	args := []any{subject}
	if f.Category != "" {
		args = append(args, f.Category)
		query += ` AND category = $` + strconv.Itoa(len(args))
	}
	if f.UnreadOnly {
		query += ` AND read_at IS NULL`
	}
	if after.id != "" {
		args = append(args, store.Timestamp(after.createdAt), after.id)
		n := len(args)
		query += ` AND (created_at < $` + strconv.Itoa(n-1) + ` OR (created_at = $` + strconv.Itoa(n-1) +
			` AND id < $` + strconv.Itoa(n) + `))`
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(limit)
	rows, err := s.store.Query(ctx, query, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "inbox: list: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := s.scanMessage(rows)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "inbox: list: %w", err)
		}
		if m.Text, err = s.render.RenderText(m.Kind, m.Content, locale); err != nil {
			// A message whose kind the templates no longer know still
			// shows: by its kind, rather than hiding it from its owner.
			s.log.WarnContext(ctx, "inbox: message cannot be rendered", "message", m.ID, "kind", m.Kind, "error", err)
			m.Text = Text{Title: m.Kind}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "inbox: list: %w", err)
	}
	return out, nil
}

// MarkRead marks p's message id read (once: reading it again keeps the
// first time). Another person's id is not found, as an unknown one.
func (s *Service) MarkRead(ctx context.Context, p services.Principal, id string) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	if !idShape.MatchString(id) {
		return services.E(services.CodeMessageNotFound)
	}
	res, err := s.store.Exec(ctx, `UPDATE messages SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND subject = $3`,
		store.Timestamp(s.now()), id, p.Subject)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			return s.record(ctx, p, ActionRead, "message:"+id, services.E(services.CodeMessageNotFound))
		}
	}
	if err != nil {
		err = services.Errorf(services.CodeInternal, "inbox: mark read: %w", err)
	}
	return s.record(ctx, p, ActionRead, "message:"+id, err)
}

// Unread counts p's unread messages, for the home screen.
func (s *Service) Unread(ctx context.Context, p services.Principal) (int, error) {
	if err := p.Depositor(); err != nil {
		return 0, err
	}
	var n int
	if err := s.store.QueryRow(ctx, `SELECT COUNT(*) FROM messages WHERE subject = $1 AND read_at IS NULL`,
		p.Subject).Scan(&n); err != nil {
		return 0, services.Errorf(services.CodeInternal, "inbox: count unread: %w", err)
	}
	return n, nil
}
