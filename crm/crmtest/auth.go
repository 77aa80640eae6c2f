package crmtest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// tokenResponse is the success body of the token endpoint (reference §2.1):
// no expires_in and no refresh_token; signature and issued_at only for
// client credentials.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Signature   string `json:"signature,omitempty"`
	Scope       string `json:"scope"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at,omitempty"`
}

// oauthError is the token endpoint's error body: an object, not the array
// REST calls use.
func writeOAuthError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, "invalid_request", "must use HTTP POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, "invalid_request", "malformed form body")
		return
	}
	resp := tokenResponse{Scope: "api", TokenType: "Bearer", InstanceURL: baseURL(r),
		ID: baseURL(r) + "/id/" + s.orgID + "/" + s.userID}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		id, secret, basic := r.BasicAuth()
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if !equalSecret(id, s.opts.ClientID) {
			writeOAuthError(w, "invalid_client_id", "client identifier invalid")
			return
		}
		if !equalSecret(secret, s.opts.ClientSecret) {
			writeOAuthError(w, "invalid_client", "invalid client credentials")
			return
		}
		resp.IssuedAt = strconv.FormatInt(s.now().UnixMilli(), 10)
		mac := hmac.New(sha256.New, []byte(s.opts.ClientSecret))
		mac.Write([]byte(resp.ID + resp.IssuedAt))
		resp.Signature = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	case grantJWTBearer:
		if code, desc := s.verifyAssertion(r.PostForm.Get("assertion"), baseURL(r)); code != "" {
			writeOAuthError(w, code, desc)
			return
		}
	case "":
		writeOAuthError(w, "invalid_request", "grant_type is required")
		return
	default:
		writeOAuthError(w, "unsupported_grant_type", "grant type not supported")
		return
	}
	resp.AccessToken = s.newSession()
	writeJSON(w, http.StatusOK, resp)
}

// verifyAssertion checks a JWT-bearer assertion: RS256, signed by
// Options.JWTPublicKey when one is set, iss = client id, sub = username, aud
// = a Salesforce login host or this emulator, exp (a number or, as some
// clients send it, a string) in the future by the wall clock. It returns
// the OAuth error code and description, or "" when the assertion is good.
func (s *Server) verifyAssertion(assertion, self string) (code, desc string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "invalid_grant", "invalid assertion"
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if !decodeSegment(parts[0], &header) || header.Alg != "RS256" {
		return "invalid_grant", "invalid assertion"
	}
	if s.opts.JWTPublicKey != nil {
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err != nil || rsa.VerifyPKCS1v15(s.opts.JWTPublicKey, crypto.SHA256, digest[:], sig) != nil {
			return "invalid_grant", "invalid assertion"
		}
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp json.RawMessage `json:"exp"`
	}
	if !decodeSegment(parts[1], &claims) {
		return "invalid_grant", "invalid assertion"
	}
	if !equalSecret(claims.Iss, s.opts.ClientID) {
		return "invalid_client_id", "client identifier invalid"
	}
	if claims.Sub != s.opts.Username {
		return "invalid_grant", "user hasn't approved this consumer"
	}
	if !audienceOK(claims.Aud, self) {
		return "invalid_grant", "audience is invalid"
	}
	var exp int64
	var expStr string
	if json.Unmarshal(claims.Exp, &exp) != nil {
		if json.Unmarshal(claims.Exp, &expStr) != nil {
			return "invalid_grant", "invalid assertion"
		}
		var err error
		if exp, err = strconv.ParseInt(expStr, 10, 64); err != nil {
			return "invalid_grant", "invalid assertion"
		}
	}
	if time.Unix(exp, 0).Before(time.Now()) {
		return "invalid_grant", "expired assertion"
	}
	return "", ""
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	return err == nil && json.Unmarshal(b, v) == nil
}

// audienceOK accepts the production and sandbox login hosts and the
// emulator's own URL (standing in for a My Domain), as a string or array.
func audienceOK(raw json.RawMessage, self string) bool {
	var auds []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		auds = []string{one}
	} else if json.Unmarshal(raw, &auds) != nil {
		return false
	}
	for _, a := range auds {
		a = strings.TrimSuffix(strings.ToLower(a), "/")
		if a == "https://login.salesforce.com" || a == "https://test.salesforce.com" || a == strings.ToLower(self) {
			return true
		}
	}
	return false
}

func equalSecret(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// newSession issues an access token in Salesforce's shape: the 15-character
// org id, "!", and an opaque random part.
func (s *Server) newSession() string {
	tok := s.orgID[:15] + "!AR" + rand.Text() + rand.Text()
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	s.sessions[tok] = struct{}{}
	return tok
}

func (s *Server) validSession(tok string) bool {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	_, ok := s.sessions[tok]
	return ok
}

func (s *Server) revokeSession(tok string) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	delete(s.sessions, tok)
}

// ExpireSessions invalidates every issued token, as a session timeout
// does: later data calls with them get 401 INVALID_SESSION_ID until the
// client fetches a new token.
func (s *Server) ExpireSessions() {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	clear(s.sessions)
}

// bearerToken reads "Authorization: Bearer <t>" (or the legacy "OAuth <t>").
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// baseURL is the scheme and host the request came to; it is the
// instance_url, so the emulator works behind any listener.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
