package supervision

import (
	"context"
	"sort"
	"strings"

	"handheld/services"
)

// Dashboard is every panel over one range.
type Dashboard struct {
	Range        Range
	Services     []ServiceVolume // by service, busiest first
	Channels     []ChannelVolume // by channel, busiest first
	Hours        [24]int64       // records per hour of the day (Asia/Shanghai)
	Total        Outcomes
	Timeliness   []Timeliness // per kind of case
	Overdue      []OverdueCase
	OverdueTotal int64
	Satisfaction []Satisfaction // per kind of case
	LowRatings   []LowRating
	Core         []CoreEndpoint // per endpoint, most called first
	CoreTotal    CoreEndpoint   // every endpoint together
	CoreHours    [24]CoreHour   // calls and failures per hour of the day
	Refusals     []Refusal      // per route, most refused first
	Shares       []PartyShares  // per relying party, most first
}

// Outcomes are records by result: ok, denied (refused: wrong input,
// not allowed, not eligible) and error (handheld or the core failed).
type Outcomes struct {
	Total, OK, Denied, Error int64
}

// SuccessRate is the share of ok records, in per mille (0–1000); 0 when
// there are none.
func (o Outcomes) SuccessRate() int64 { return permille(o.OK, o.Total) }

// FailureRate is the share of error records, in per mille.
func (o Outcomes) FailureRate() int64 { return permille(o.Error, o.Total) }

func (o *Outcomes) add(result string, n int64) {
	o.Total += n
	switch result {
	case "ok":
		o.OK += n
	case "denied":
		o.Denied += n
	default:
		o.Error += n
	}
}

// ServiceVolume is one service's records.
type ServiceVolume struct {
	Service string
	Outcomes
}

// ChannelVolume is one channel's records.
type ChannelVolume struct {
	Channel string
	Outcomes
}

// Load reads every panel over r for p (a staff principal), and audits it.
func (s *Service) Load(ctx context.Context, p services.Principal, r Range, requestID string) (Dashboard, error) {
	if err := s.audited(ctx, p, ActionRead, "all", r, requestID); err != nil {
		return Dashboard{}, err
	}
	return s.load(ctx, r)
}

func (s *Service) load(ctx context.Context, r Range) (Dashboard, error) {
	d := Dashboard{Range: r}
	steps := []func(context.Context, *Dashboard) error{s.volumes, s.timeliness, s.overdue, s.satisfaction,
		s.lowRatings, s.core, s.refusals, s.shares}
	for _, step := range steps {
		if err := step(ctx, &d); err != nil {
			return Dashboard{}, err
		}
	}
	return d, nil
}

// serviceOf is the service an audit action belongs to: the sign-ins and
// sessions together, reads with the service they read, everything else
// by its first word. Actions of the centre's staff and of this dashboard
// are not a service to the public and are left out ("").
func serviceOf(action string) string {
	head, rest, _ := strings.Cut(action, ".")
	switch head {
	case "centre_staff", "dashboard", "retention", "reminder":
		return ""
	case "login", "bind", "refresh", "logout", "step_up", "device", "kiosk_login", "session", "lockout":
		return "sign_in"
	case "read":
		head = strings.TrimSuffix(rest, "s")
		if i := strings.IndexAny(head, "._"); i > 0 {
			head = head[:i]
		}
	}
	switch head {
	case "deposit", "account", "home":
		return "account"
	case "standing":
		return "withdrawal"
	case "case", "rate":
		return "rating"
	case "ecard":
		return "ecard"
	case "share", "party":
		return "share"
	case "staff", "operator", "unit", "remittance", "employer", "job", "base", "reveal":
		return "employer"
	}
	return head
}

// volumes folds the audit trail's counts in range (grouped in SQL by
// action, channel, result and hour) into services and channels.
func (s *Service) volumes(ctx context.Context, d *Dashboard) error {
	vols, err := s.Audit.Volumes(ctx, d.Range.Start, d.Range.End)
	if err != nil {
		return err
	}
	bySvc, byChn := map[string]*Outcomes{}, map[string]*Outcomes{}
	for _, v := range vols {
		svc := serviceOf(v.Action)
		if svc == "" || v.Channel == services.ChannelWeb {
			continue
		}
		if bySvc[svc] == nil {
			bySvc[svc] = &Outcomes{}
		}
		bySvc[svc].add(v.Result, v.N)
		if byChn[v.Channel] == nil {
			byChn[v.Channel] = &Outcomes{}
		}
		byChn[v.Channel].add(v.Result, v.N)
		d.Total.add(v.Result, v.N)
		if v.Hour >= 0 && v.Hour < 24 {
			d.Hours[v.Hour] += v.N
		}
	}
	for k, o := range bySvc {
		d.Services = append(d.Services, ServiceVolume{Service: k, Outcomes: *o})
	}
	for k, o := range byChn {
		d.Channels = append(d.Channels, ChannelVolume{Channel: k, Outcomes: *o})
	}
	sort.Slice(d.Services, func(i, j int) bool {
		a, b := d.Services[i], d.Services[j]
		return a.Total > b.Total || (a.Total == b.Total && a.Service < b.Service)
	})
	sort.Slice(d.Channels, func(i, j int) bool {
		a, b := d.Channels[i], d.Channels[j]
		return a.Total > b.Total || (a.Total == b.Total && a.Channel < b.Channel)
	})
	return nil
}

// PartyShares is one relying party's redeemed shares.
type PartyShares struct {
	Party    string // the party id, from the actor "party:<id>"
	Redeemed int64
}

// shares counts share.redeem ok records per actor.
func (s *Service) shares(ctx context.Context, d *Dashboard) error {
	counts, err := s.Audit.CountByActor(ctx, ActionShareRedeem, "ok", d.Range.Start, d.Range.End)
	if err != nil {
		return err
	}
	for _, c := range counts {
		d.Shares = append(d.Shares, PartyShares{Party: strings.TrimPrefix(c.Actor, "party:"), Redeemed: c.N})
	}
	return nil
}

func permille(part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	return (part*1000 + whole/2) / whole
}
