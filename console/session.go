package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/web"
)

// The console's cookies, all HttpOnly and SameSite=Strict: the session
// id, the sign-in form's CSRF token (there is no session to hold it yet),
// and the one-time notice shown after a redirect.
const (
	sessionCookie = "stripesync_staff"
	signInCookie  = "stripesync_staff_signin"
	noticeCookie  = "stripesync_staff_notice"
)

// cookiePath is where the browser sends a cookie. The session and the
// notice go to the whole site, so that the status page at /status (an
// address operators know without the console's) shares the console's
// session: every other path is the daemon's own (the pay pages, the API),
// which read no cookie, and being HttpOnly and SameSite=Strict the cookie
// is no more exposed there than under /staff/. The sign-in form's token is
// only the console's.
func cookiePath(name string) string {
	if name == signInCookie {
		return "/staff/"
	}
	return "/"
}

// randomToken is 32 bytes from crypto/rand, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validToken reports whether v has the shape randomToken makes, so that
// nothing else reaches the database.
func validToken(v string) bool {
	raw, ok := stripesync.DecodeToken(v)
	return ok && len(raw) == 32
}

// sessionHash is what the ledger keeps of a session id: someone who reads
// the table cannot sign in with it.
func sessionHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath(name), MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode,
	})
}

// session is the signed-in staff member a request is served for.
type session struct {
	stripesync.StaffSession
	id string // the cookie's value
}

// staffHandler is a handler for signed-in staff.
type staffHandler func(w http.ResponseWriter, r *http.Request, s session)

// signedIn serves next only within a live session of a staff member who
// still has a token; a POST must also carry the session's CSRF token, or
// it is refused with 403 and nothing is done. A GET without a session is
// sent to the sign-in page, which comes back here afterwards.
func (h *Handler) signedIn(next staffHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok, err := h.currentSession(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !ok {
			h.signedOut(w, r)
			return
		}
		if r.Method == http.MethodPost {
			if err := web.ReadForm(w, r); err != nil {
				h.fail(w, r, err)
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.CSRF)) != 1 {
				h.forbidden(w, r)
				return
			}
		}
		next(w, r, s)
	}
}

// currentSession finds the request's session and keeps it alive. A
// session whose staff member has left the token file is ended here.
//
// A browser may send two session cookies: one set with the Path=/staff/
// of earlier versions, until it closes, beside the current one; the first
// that names a live session counts, so that the stale one cannot shadow a
// new sign-in.
func (h *Handler) currentSession(r *http.Request) (session, bool, error) {
	ctx := r.Context()
	for _, c := range r.CookiesNamed(sessionCookie) {
		if !validToken(c.Value) {
			continue
		}
		s, err := h.cfg.Sessions.TouchSession(ctx, sessionHash(c.Value), h.cfg.Now(), IdleTimeout, AbsoluteTimeout)
		switch {
		case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
			continue
		case err != nil:
			return session{}, false, err
		}
		return h.liveSession(ctx, s, c.Value)
	}
	return session{}, false, nil
}

// clearLegacySession expires the session cookie earlier versions set
// with Path=/staff/, which the browser would otherwise keep sending until
// it closes.
func (h *Handler) clearLegacySession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/staff/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode})
}

// liveSession ends s when its staff member has left the token file.
func (h *Handler) liveSession(ctx context.Context, s stripesync.StaffSession, id string) (session, bool, error) {
	if !h.cfg.Known(s.Staff) {
		if err := h.cfg.Sessions.DeleteSession(ctx, s.IDHash); err != nil {
			return session{}, false, err
		}
		h.cfg.Logger.Info("console session ended: the staff member has no token any more", "staff", s.Staff)
		return session{}, false, nil
	}
	return session{StaffSession: s, id: id}, true, nil
}

// signedOut answers a request that needs a session it does not have. A
// page opened from another site (the CRM's Take Payment button) comes
// without the SameSite=Strict cookie even when there is a session, so it
// is first reloaded from here, which sends the cookie; only then, still
// without one, does the sign-in page come.
func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.render(w, r, http.StatusForbidden, "message", message{
			Title: "Your session has ended",
			Text:  "Nothing was done. Sign in again, then repeat what you were doing.",
			Back:  "/staff/sign-in", BackLabel: "Sign in",
		})
		return
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		h.render(w, r, http.StatusOK, "reload", reloadPage{URL: r.URL.RequestURI()})
		return
	}
	http.Redirect(w, r, "/staff/sign-in?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// forbidden answers a POST without the right CSRF token.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusForbidden, "message", message{
		Title: "This form has expired",
		Text:  "Nothing was done: the form did not come from this console's current page. Reload the page and try again.",
		Back:  "/staff/invoices", BackLabel: "Find an invoice",
	})
}

// localNext is where to go after signing in: a console path or the
// status page, never another site.
func localNext(next string) string {
	if next == StatusPath {
		return next
	}
	if !strings.HasPrefix(next, "/staff/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/staff/invoices"
	}
	return next
}

// signInForm is the sign-in page.
type signInForm struct {
	CSRF, Next, Error, Notice string
}

func (signInForm) title() string { return "Sign in" }

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok, err := h.currentSession(r); err == nil && ok {
		http.Redirect(w, r, localNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	f := signInForm{Next: localNext(r.URL.Query().Get("next"))}
	if r.URL.Query().Has("signed-out") {
		f.Notice = "You have signed out."
	}
	h.renderSignIn(w, r, http.StatusOK, f)
}

// renderSignIn renders the form with a fresh CSRF token, kept in its own
// cookie until the form comes back.
func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, f signInForm) {
	f.CSRF = randomToken()
	h.setCookie(w, signInCookie, f.CSRF, int(time.Hour.Seconds()))
	h.render(w, r, status, "signin", f)
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if err := web.ReadForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := r.Cookie(signInCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(c.Value)) != 1 {
		h.forbidden(w, r)
		return
	}
	next := localNext(r.PostFormValue("next"))
	name, ok := h.cfg.Authenticate(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		h.renderSignIn(w, r, http.StatusUnauthorized, signInForm{Next: next,
			Error: "That token is not valid. Paste the whole token you were given; an administrator can make a new one with “stripesync staff add”."})
		return
	}
	id, now := randomToken(), h.cfg.Now()
	s := stripesync.StaffSession{IDHash: sessionHash(id), Staff: name, CSRF: randomToken(), Created: now, LastSeen: now}
	if err := h.cfg.Sessions.CreateSession(r.Context(), s); err != nil {
		h.fail(w, r, err)
		return
	}
	h.cfg.Logger.Info("console sign-in", "staff", name)
	h.setCookie(w, signInCookie, "", -1)
	// No Max-Age: the cookie goes with the browser; the ledger's expiry
	// is what ends the session.
	h.setCookie(w, sessionCookie, id, 0)
	h.clearLegacySession(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, s session) {
	if err := h.cfg.Sessions.DeleteSession(r.Context(), s.IDHash); err != nil {
		h.fail(w, r, err)
		return
	}
	h.setCookie(w, sessionCookie, "", -1)
	h.clearLegacySession(w)
	http.Redirect(w, r, "/staff/sign-in?signed-out=1", http.StatusSeeOther)
}

// setNotice keeps a one-time notice for the page a redirect leads to,
// sealed with key, the session's CSRF token, so that no other site or
// session can plant one.
func (h *Handler) setNotice(w http.ResponseWriter, key, text string) {
	body := base64.RawURLEncoding.EncodeToString([]byte(text))
	h.setCookie(w, noticeCookie, body+"."+noticeMAC(key, body), 60)
}

// takeNotice returns the notice setNotice kept, once.
func (h *Handler) takeNotice(w http.ResponseWriter, r *http.Request, key string) string {
	c, err := r.Cookie(noticeCookie)
	if err != nil {
		return ""
	}
	h.setCookie(w, noticeCookie, "", -1)
	body, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(noticeMAC(key, body))) {
		return ""
	}
	text, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return ""
	}
	return string(text)
}

func noticeMAC(key, body string) string {
	m := hmac.New(sha256.New, []byte("stripesync console notice\x00"+key))
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
