package form

import (
	"net/http"
	"unicode/utf8"
)

// SignIn is the sign-in form.
type SignIn struct {
	Email, Password, Next string
}

// ParseSignIn reads the sign-in form.
func ParseSignIn(r *http.Request) (SignIn, error) {
	if err := parse(r); err != nil {
		return SignIn{}, err
	}
	f := SignIn{Email: field(r, "email"), Password: r.PostForm.Get("password"), Next: field(r, "next")}
	if !email(f.Email) {
		return f, bad("email", "form.err.email")
	}
	if f.Password == "" {
		return f, bad("password", "form.err.password.empty")
	}
	return f, nil
}

// MinPassword is the shortest password the console accepts.
const MinPassword = 10

// NewPassword is a new password typed twice (one-time link, change).
type NewPassword struct {
	Old, New string
}

// ParseNewPassword reads password and confirm (and old, when withOld).
func ParseNewPassword(r *http.Request, withOld bool) (NewPassword, error) {
	if err := parse(r); err != nil {
		return NewPassword{}, err
	}
	f := NewPassword{Old: r.PostForm.Get("old"), New: r.PostForm.Get("password")}
	if withOld && f.Old == "" {
		return f, bad("old", "form.err.password.empty")
	}
	if utf8.RuneCountInString(f.New) < MinPassword {
		return f, &Error{Field: "password", Key: "form.err.password.short"}
	}
	if len(f.New) > 1024 {
		return f, bad("password", "form.err.toolong")
	}
	if f.New != r.PostForm.Get("confirm") {
		return f, bad("confirm", "form.err.password.mismatch")
	}
	return f, nil
}
