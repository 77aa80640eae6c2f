package stripetest

import (
	"net/http"
	"strconv"
	"strings"
)

// The hosted micro-deposit verification page, at
// <base URL>/microdeposit/{pacs_test_id} (next_action's
// hosted_verification_url). The customer reports the two amounts (#amount1,
// #amount2, in cents, or as $0.32) or the descriptor code (#descriptorCode,
// SM…) and presses #verify. Stripe's test values: 32 and 45 or SM11AA
// verify; 10 and 11 or SM33CC exceed the attempts; others are a mismatch
// shown in #error. #status says how a finished verification ended.

type microView struct {
	Business, Action, Last4, Error, Status string
	Amount1, Amount2, DescriptorCode       string
}

func (s *Server) microView(m *microdeposits) microView {
	v := microView{Business: s.business, Action: "/microdeposit/" + m.id, Status: m.state}
	pmID, failed := "", (*paymentMethod)(nil)
	if r, ok := s.pay.intents[m.intent]; ok {
		pmID, failed = r.PaymentMethod, r.failedMethod
	} else if si, ok := s.pay.setups[m.intent]; ok {
		pmID, failed = si.paymentMethod, si.failedMethod
	}
	if pm, ok := s.pay.methods[pmID]; ok {
		v.Last4 = pm.method.last4
	} else if failed != nil {
		v.Last4 = failed.method.last4
	}
	return v
}

// lockMicro takes s.mu and returns the verification of the page, or
// answers 404, releases s.mu and returns nil.
func (s *Server) lockMicro(w http.ResponseWriter, r *http.Request) *microdeposits {
	s.mu.Lock()
	m, ok := s.pay.micro[r.PathValue("id")]
	if !ok {
		s.mu.Unlock()
		s.renderNotice(w, http.StatusNotFound, notice{Title: "Something went wrong", Message: "This verification link is not valid."})
		return nil
	}
	return m
}

func (s *Server) microPage(w http.ResponseWriter, r *http.Request) {
	m := s.lockMicro(w, r)
	if m == nil {
		return
	}
	v := s.microView(m)
	s.mu.Unlock()
	s.render(w, http.StatusOK, "microdeposit", v)
}

func (s *Server) microSubmit(w http.ResponseWriter, r *http.Request) {
	if !parsePageForm(w, r) {
		return
	}
	m := s.lockMicro(w, r)
	if m == nil {
		return
	}
	in := microView{
		Amount1: strings.TrimSpace(r.PostForm.Get("amount1")), Amount2: strings.TrimSpace(r.PostForm.Get("amount2")),
		DescriptorCode: strings.ToUpper(strings.TrimSpace(r.PostForm.Get("descriptorCode"))),
	}
	var msg string
	if m.state == "" {
		vals := microValues{code: in.DescriptorCode}
		if vals.code == "" {
			vals.amounts = []string{cents(in.Amount1), cents(in.Amount2)}
		}
		f := form{"descriptor_code": vals.code}
		if vals.code == "" {
			f = form{"amounts": vals.amounts}
		}
		if _, aerr := microFrom(f); aerr != nil {
			msg = aerr.Message
		} else if aerr := s.verifyLocked(m, vals); aerr != nil {
			msg = aerr.Message
		}
	}
	v := s.microView(m)
	v.Error, v.Amount1, v.Amount2, v.DescriptorCode = msg, in.Amount1, in.Amount2, in.DescriptorCode
	s.mu.Unlock()
	s.render(w, http.StatusOK, "microdeposit", v)
}

// cents reads an amount the customer typed: "32", "0.32" or "$0.32".
func cents(raw string) string {
	raw = strings.TrimPrefix(raw, "$")
	if whole, frac, ok := strings.Cut(raw, "."); ok && len(frac) == 2 {
		w, err1 := strconv.ParseInt(cmpOr(whole, "0"), 10, 64)
		f, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 == nil && err2 == nil {
			return strconv.FormatInt(w*100+f, 10)
		}
	}
	return raw
}
