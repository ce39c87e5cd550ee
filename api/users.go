package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// userJSON is a console account, keys as `user ls --json`; lists ["all"]
// for every list.
type userJSON struct {
	Email     string   `json:"email"`
	Role      string   `json:"role"`
	Lists     []string `json:"lists"`
	LastLogin *string  `json:"last_login"`
	Created   *string  `json:"created"`
}

func listsOf(all bool, slugs []string) []string {
	if all {
		return []string{"all"}
	}
	return orEmpty(slugs)
}

func toUserJSON(u *ops.User) userJSON {
	return userJSON{Email: u.Email, Role: string(u.Role), Lists: listsOf(u.AllLists, u.Lists),
		LastLogin: timeOrNil(u.LastLogin), Created: timeOrNil(u.CreatedAt)}
}

func getUsers(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	us, err := s.ops.Users(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(us))
	for i := range us {
		out = append(out, toUserJSON(&us[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// newUserRequest is the body of POST /users.
type newUserRequest struct {
	Email    string   `json:"email"`
	Role     string   `json:"role"`
	Lists    []string `json:"lists"`
	Password string   `json:"password"`
}

// roleAndLists checks a role and a lists array (["all"] or empty = every list).
func roleAndLists(role string, lists []string) (tidings.Role, []string, error) {
	ro, err := tidings.ParseRole(role)
	if err != nil {
		return "", nil, invalid("role", "%v", err)
	}
	var out []string
	for _, l := range lists {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			return "", nil, invalid("lists", "a list slug is empty")
		case l == "all":
			if len(lists) > 1 {
				return "", nil, invalid("lists", "\"all\" cannot be combined with list slugs")
			}
			return ro, nil, nil
		}
		out = append(out, l)
	}
	return ro, out, nil
}

// postUser adds an account: 201. Without a password the answer carries
// the one-time sign-in link (24 h) to hand to the person.
func postUser(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var req newUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Email) == "" {
		return invalid("email", "required")
	}
	role, lists, err := roleAndLists(req.Role, req.Lists)
	if err != nil {
		return err
	}
	u, link, err := s.ops.AddUser(r.Context(), a, ops.NewUser{Email: strings.TrimSpace(req.Email), Role: role, Lists: lists, Password: req.Password})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/users/"+url.PathEscape(u.Email))
	return writeJSON(w, http.StatusCreated, struct {
		userJSON
		SignInLink *string `json:"sign_in_link"`
	}{toUserJSON(u), nilIfEmpty(link)})
}

func deleteUser(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	if err := s.ops.RemoveUser(r.Context(), a, r.PathValue("email")); err != nil {
		return err
	}
	return noContent(w)
}

// userChange is the body of PATCH /users/{email}: absent fields stay as
// they are.
type userChange struct {
	Role  *string   `json:"role"`
	Lists *[]string `json:"lists"`
}

// patchUser changes an account's role or lists, as `tidings user set`;
// it takes effect at the account's next request.
func patchUser(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var req userChange
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Role == nil && req.Lists == nil {
		return invalid("body", "nothing to change: give role, lists or both")
	}
	us, err := s.ops.Users(r.Context(), a)
	if err != nil {
		return err
	}
	email := strings.TrimSpace(r.PathValue("email"))
	i := slices.IndexFunc(us, func(u ops.User) bool { return strings.EqualFold(u.Email, email) })
	if i < 0 {
		return fmt.Errorf("no user %s: %w", email, ops.ErrNotFound)
	}
	cur := us[i]
	role, lists := string(cur.Role), []string{"all"}
	if req.Role != nil {
		role = *req.Role
	}
	switch {
	case req.Lists != nil:
		lists = *req.Lists
	case !cur.AllLists && len(cur.Lists) == 0:
		// Its lists were deleted: keeping "them" must not mean every list.
		return invalid("lists", "%s is limited to no list now: give lists", cur.Email)
	case !cur.AllLists:
		lists = cur.Lists
	}
	ro, slugs, err := roleAndLists(role, lists)
	if err != nil {
		return err
	}
	u, err := s.ops.SetUserAccess(r.Context(), a, cur.Email, ro, slugs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toUserJSON(u))
}

// postUserLink makes a fresh one-time sign-in link (valid 24 h) for an
// account, as `tidings user link`: for a lost password or a lost first
// link. Earlier links stop working.
func postUserLink(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	link, err := s.ops.NewSignInLink(r.Context(), a, r.PathValue("email"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		SignInLink string `json:"sign_in_link"`
	}{link})
}
