package crm

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/stripesync/stripesync"
)

// session is one access token and the instance it is valid for. gen
// numbers sessions so that a 401 seen with an old token cannot discard a
// newer one.
type session struct {
	token       string
	instanceURL string
	gen         uint64
}

// flight is one token request in progress; everyone who needs a session
// meanwhile waits for it instead of sending their own.
type flight struct {
	done chan struct{}
	s    *session
	err  error
}

// authenticator caches the session and renews it on demand. Salesforce
// tokens carry no expiry (reference §2.1), so a session is used until a
// call gets 401 INVALID_SESSION_ID; then invalidate(gen) drops it, and the
// next session() call starts exactly one token request however many
// goroutines ask at once.
type authenticator struct {
	fetch func(ctx context.Context) (token, instanceURL string, err error)

	mu     sync.Mutex
	cur    *session
	gen    uint64
	flight *flight
}

// tokenTimeout bounds a token request, which runs detached from the
// context of the caller that triggered it, so that one caller giving up
// does not fail the others waiting for the same token.
const tokenTimeout = time.Minute

func (a *authenticator) session(ctx context.Context) (*session, error) {
	a.mu.Lock()
	if s := a.cur; s != nil {
		a.mu.Unlock()
		return s, nil
	}
	f := a.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		a.flight = f
		go a.run(context.WithoutCancel(ctx), f)
	}
	a.mu.Unlock()
	select {
	case <-f.done:
		return f.s, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (a *authenticator) run(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	tok, inst, err := a.fetch(ctx)
	a.mu.Lock()
	if err == nil {
		a.gen++
		a.cur = &session{token: tok, instanceURL: inst, gen: a.gen}
		f.s = a.cur
	} else {
		f.err = err
	}
	a.flight = nil
	a.mu.Unlock()
	close(f.done)
}

// invalidate drops the session of generation gen if it is still current.
func (a *authenticator) invalidate(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur != nil && a.cur.gen == gen {
		a.cur = nil
	}
}

const grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// fetchToken asks the token endpoint for a new access token with the
// configured flow.
func (c *Client) fetchToken(ctx context.Context) (token, instanceURL string, err error) {
	tokenURL := c.cfg.LoginURL + "/services/oauth2/token"
	if c.cfg.PrivateKey != nil {
		token, instanceURL, err = c.fetchJWTToken(ctx, tokenURL)
	} else {
		cc := clientcredentials.Config{
			ClientID:     c.cfg.ClientID,
			ClientSecret: c.cfg.ClientSecret,
			TokenURL:     tokenURL,
			AuthStyle:    oauth2.AuthStyleInParams,
		}
		var tok *oauth2.Token
		tok, err = cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient))
		if err == nil {
			token = tok.AccessToken
			instanceURL, _ = tok.Extra("instance_url").(string)
		}
	}
	if err != nil {
		return "", "", tokenError(err)
	}
	if u, perr := url.Parse(instanceURL); perr != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", stripesync.Errorf(stripesync.EINTERNAL, "salesforce token response has no usable instance_url")
	}
	c.cfg.Logger.Info("salesforce session started", "instance_url", instanceURL)
	return token, strings.TrimSuffix(instanceURL, "/"), nil
}

// fetchJWTToken runs the JWT-bearer flow: a signed assertion
// (iss = client id, sub = username, aud, exp = now + 3 min) posted as a form.
func (c *Client) fetchJWTToken(ctx context.Context, tokenURL string) (string, string, error) {
	assertion, err := signAssertion(c.cfg.PrivateKey, c.cfg.ClientID, c.cfg.Username, c.cfg.Audience, time.Now().Add(3*time.Minute))
	if err != nil {
		return "", "", err
	}
	form := url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", parseAPIError(resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", "", &APIError{Status: resp.StatusCode, Message: "token response has no access_token"}
	}
	return tok.AccessToken, tok.InstanceURL, nil
}

// tokenError maps a failed token request: 5xx, non-JSON bodies and
// network errors are EUNAVAILABLE (retried); rate_limit_exceeded is
// ERATELIMITED; any other OAuth error (invalid_client, invalid_grant, …)
// is EUNAUTHORIZED.
func tokenError(err error) error {
	var ae *APIError
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &re) && re.Response != nil:
		ae = parseAPIError(re.Response.StatusCode, re.Body)
	default:
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err, "salesforce token request")
	}
	code := stripesync.EUNAUTHORIZED
	switch {
	case ae.Status >= 500 || ae.Code == "":
		code = stripesync.EUNAVAILABLE
	case ae.Code == "rate_limit_exceeded":
		code = stripesync.ERATELIMITED
	}
	return &stripesync.Error{Code: code, Message: "salesforce token request", Err: ae}
}

// signAssertion builds an RS256 JWT. exp is a number, as RFC 7519 says.
func signAssertion(key *rsa.PrivateKey, iss, sub, aud string, exp time.Time) (string, error) {
	enc := base64.RawURLEncoding
	claims, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
	}{iss, sub, aud, exp.Unix()})
	if err != nil {
		return "", err
	}
	signing := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", stripesync.WrapError(stripesync.EINVALID, err, "sign salesforce JWT assertion")
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// ParsePrivateKey reads an unencrypted RSA private key in PEM form, PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"), for the JWT-bearer flow.
// Errors never echo key material.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce private key: no PEM block found")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce private key: malformed PKCS#1 key")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce private key: malformed PKCS#8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce private key: not an RSA key")
		}
		return rk, nil
	}
	return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce private key: unsupported PEM type %q (want RSA PRIVATE KEY or PRIVATE KEY)", block.Type)
}
