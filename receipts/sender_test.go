package receipts

import (
	"strings"
	"testing"

	"github.com/stripesync/stripesync/receipts/smtptest"
)

func TestSenderMailsThePDFWithItsDownloadLink(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: testUser, Password: testPassword})
	s := Sender{
		Mailer: newTestMailer(t, MailConfig{URL: srv.URL()}),
		Link:   func(id string) string { return "https://pay.example/receipts/token-for-" + id + ".pdf" },
	}
	r := sampleReceipt()
	accepted := 0
	if err := s.SendReceipt(t.Context(), r, func() { accepted++ }); err != nil || accepted != 1 {
		t.Fatalf("SendReceipt = %v, accepted called %d times, want nil and once", err, accepted)
	}
	got, err := srv.WaitMessages(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://pay.example/receipts/token-for-" + r.PaymentID + ".pdf"; !strings.Contains(got[0].Text, want) {
		t.Errorf("message text lacks the link %s:\n%s", want, got[0].Text)
	}
	if len(got[0].Attachments) != 1 || !strings.Contains(readPDF(t, got[0].Attachments[0].Data).Text(), r.Number) {
		t.Errorf("the message does not carry the receipt's PDF")
	}
}
