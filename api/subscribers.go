package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

// subscriberRowJSON is one subscriber on one list (CONTRACT keys email,
// name, status, topics; topics ["all"] for a reader of every topic).
type subscriberRowJSON struct {
	Email   string   `json:"email"`
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Topics  []string `json:"topics"`
	Updated *string  `json:"updated"`
}

func topicsOf(all bool, slugs []string) []string {
	if all {
		return []string{"all"}
	}
	return orEmpty(slugs)
}

// subscriberPageJSON is one page of a list's subscribers; next is the
// cursor of the following page, null on the last.
type subscriberPageJSON struct {
	Subscribers []subscriberRowJSON `json:"subscribers"`
	Next        *string             `json:"next"`
}

func getSubscribers(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	q := r.URL.Query()
	sq := ops.SubscriberQuery{Q: strings.TrimSpace(q.Get("q")), Topic: strings.TrimSpace(q.Get("topic")), Cursor: q.Get("cursor")}
	if v := q.Get("status"); v != "" {
		st, err := tidings.ParseStatus(v)
		if err != nil {
			return invalid("status", "%v", err)
		}
		sq.Status = st
	}
	var err error
	if sq.Limit, err = queryInt(r, "limit", 50, 1, 500); err != nil {
		return err
	}
	page, err := s.ops.Subscribers(r.Context(), a, r.PathValue("list"), sq)
	if err != nil {
		return err
	}
	out := subscriberPageJSON{Subscribers: make([]subscriberRowJSON, 0, len(page.Rows))}
	for _, x := range page.Rows {
		out.Subscribers = append(out.Subscribers, subscriberRowJSON{Email: x.Email, Name: x.Name,
			Status: string(x.Status), Topics: topicsOf(x.AllTopics, x.Topics), Updated: timeOrNil(x.UpdatedAt)})
	}
	if page.Next != "" {
		out.Next = &page.Next
	}
	return writeJSON(w, http.StatusOK, out)
}

// topicChoice reads a topics array: ["all"] (or absent) is every topic.
func topicChoice(field string, ts *[]string) (subscribers.TopicChoice, error) {
	if ts == nil {
		return subscribers.AllTopics, nil
	}
	var slugs []string
	for _, t := range *ts {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			return subscribers.TopicChoice{}, invalid(field, "a topic slug is empty")
		case strings.EqualFold(t, "all"):
			if len(*ts) > 1 {
				return subscribers.TopicChoice{}, invalid(field, "\"all\" cannot be combined with other topics")
			}
			return subscribers.AllTopics, nil
		}
		slugs = append(slugs, t)
	}
	return subscribers.TopicChoice{Slugs: slugs}, nil
}

// newSubscriber is the body of POST /lists/{list}/subscribers.
type newSubscriber struct {
	Email  string    `json:"email"`
	Name   string    `json:"name"`
	Topics *[]string `json:"topics"`
}

// postSubscriber adds a person to the list, confirmed at once: 201.
func postSubscriber(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var req newSubscriber
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Email) == "" {
		return invalid("email", "required")
	}
	tc, err := topicChoice("topics", req.Topics)
	if err != nil {
		return err
	}
	list := r.PathValue("list")
	sub, err := s.ops.AddSubscriber(r.Context(), a, list, strings.TrimSpace(req.Email), strings.TrimSpace(req.Name), tc)
	if err != nil {
		return err
	}
	out := subscriberRowJSON{Email: sub.Email, Name: sub.Name, Status: string(tidings.StatusConfirmed), Topics: topicsOf(tc.All, tc.Slugs)}
	for _, x := range sub.Subscriptions {
		if x.ListSlug == list {
			out.Status, out.Topics, out.Updated = string(x.Status), topicsOf(x.AllTopics, x.Topics), timeOrNil(x.UpdatedAt)
		}
	}
	w.Header().Set("Location", Prefix+"/subscribers/"+url.PathEscape(sub.Email))
	return writeJSON(w, http.StatusCreated, out)
}

// subscriberChange is the body of PATCH /lists/{list}/subscribers/{email}.
type subscriberChange struct {
	Topics *[]string `json:"topics"`
	Status *string   `json:"status"`
}

// patchSubscriber changes a person's topics or status on the list and
// answers the subscription as it now stands.
func patchSubscriber(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var c subscriberChange
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if c.Topics == nil && c.Status == nil {
		return invalid("body", "nothing to change: give topics or status")
	}
	var st tidings.Status
	if c.Status != nil {
		var err error
		if st, err = tidings.ParseStatus(*c.Status); err != nil {
			return invalid("status", "%v", err)
		}
	}
	var tc subscribers.TopicChoice
	if c.Topics != nil {
		var err error
		if tc, err = topicChoice("topics", c.Topics); err != nil {
			return err
		}
	}
	list, email := r.PathValue("list"), r.PathValue("email")
	// Two changes are two operations: check the topics first, then change
	// the status (which may be refused), then the topics, so that a
	// refusal leaves both as they were.
	if c.Topics != nil && c.Status != nil && !tc.All {
		if err := s.checkTopics(r, a, list, tc.Slugs); err != nil {
			return err
		}
	}
	if c.Status != nil {
		if err := s.ops.SetSubscriberStatus(r.Context(), a, list, email, st); err != nil {
			return err
		}
	}
	if c.Topics != nil {
		if err := s.ops.SetSubscriberTopics(r.Context(), a, list, email, tc); err != nil {
			return err
		}
	}
	d, err := s.ops.Subscriber(r.Context(), a, email)
	if err != nil {
		return err
	}
	for _, x := range d.Subscriber.Subscriptions {
		if x.ListSlug == list {
			return writeJSON(w, http.StatusOK, subscriberRowJSON{Email: d.Subscriber.Email, Name: d.Subscriber.Name,
				Status: string(x.Status), Topics: topicsOf(x.AllTopics, x.Topics), Updated: timeOrNil(x.UpdatedAt)})
		}
	}
	return ops.ErrNotFound
}

// checkTopics refuses slugs that are not topics of the list.
func (s *server) checkTopics(r *http.Request, a tidings.Actor, list string, slugs []string) error {
	ts, err := s.ops.TopicChoices(r.Context(), a, list)
	if err != nil {
		return err
	}
	for _, slug := range slugs {
		if !slices.ContainsFunc(ts, func(t tidings.Topic) bool { return t.Slug == slug }) {
			return invalid("topics", "%q is not a topic of list %s", slug, list)
		}
	}
	return nil
}

// subscriberJSON is a person's page, keys as `sub show --json` plus the
// history: only the subscriptions on the actor's lists.
type subscriberJSON struct {
	Email   string             `json:"email"`
	Name    string             `json:"name"`
	Created *string            `json:"created"`
	Lists   []subscriptionJSON `json:"lists"`
	History []eventJSON        `json:"history"`
}

type subscriptionJSON struct {
	List    string   `json:"list"`
	Status  string   `json:"status"`
	Topics  []string `json:"topics"`
	Since   *string  `json:"since"`
	Updated *string  `json:"updated"`
}

type eventJSON struct {
	At     *string `json:"at"`
	List   string  `json:"list"`
	Kind   string  `json:"kind"`
	Detail string  `json:"detail"`
	Issue  *int64  `json:"issue"`
}

func getSubscriber(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	d, err := s.ops.Subscriber(r.Context(), a, r.PathValue("email"))
	if err != nil {
		return err
	}
	sub := d.Subscriber
	out := subscriberJSON{Email: sub.Email, Name: sub.Name, Created: timeOrNil(sub.CreatedAt),
		Lists: make([]subscriptionJSON, 0, len(sub.Subscriptions)), History: make([]eventJSON, 0, len(d.History))}
	slugs := map[int64]string{}
	for _, x := range sub.Subscriptions {
		slugs[x.ListID] = x.ListSlug
		out.Lists = append(out.Lists, subscriptionJSON{List: x.ListSlug, Status: string(x.Status),
			Topics: topicsOf(x.AllTopics, x.Topics), Since: timeOrNil(x.CreatedAt), Updated: timeOrNil(x.UpdatedAt)})
	}
	for _, e := range d.History {
		ev := eventJSON{At: timeOrNil(e.At), List: slugs[e.ListID], Kind: e.Kind, Detail: e.Detail}
		if e.Issue != 0 {
			id := e.Issue
			ev.Issue = &id
		}
		out.History = append(out.History, ev)
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteSubscriber erases every trace of the person (admin).
func deleteSubscriber(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	if err := s.ops.DeleteSubscriber(r.Context(), a, r.PathValue("email")); err != nil {
		return err
	}
	return noContent(w)
}
