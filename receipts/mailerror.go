package receipts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/textproto"

	"github.com/stripesync/stripesync"
	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// classify maps a go-mail failure to the code the job queue acts on: retry
// later (EUNAVAILABLE), fix the credentials (EUNAUTHORIZED), or give up on
// this message (EINVALID).
func classify(err error) stripesync.ErrorCode {
	var (
		sendErr *gomail.SendError
		reply   *textproto.Error
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return stripesync.EUNAVAILABLE
	case errors.As(err, &reply):
		return replyCode(reply.Code)
	case errors.As(err, &sendErr):
		if sendErr.IsTemp() {
			return stripesync.EUNAVAILABLE
		}
		if code := sendErr.ErrorCode(); code >= 500 {
			return replyCode(code)
		}
		return stripesync.EUNAVAILABLE // the connection failed mid-message
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr),
		errors.Is(err, gosmtp.ErrUnencrypted), errors.Is(err, gomail.ErrPlainAuthNotSupported):
		// The server cannot be reached the way the configuration demands;
		// retrying will not change that.
		return stripesync.EINVALID
	}
	return stripesync.EUNAVAILABLE // refused, reset, timed out, unreachable
}

// replyCode classifies an SMTP reply code (RFC 5321 §4.2.1, RFC 4954 §6).
func replyCode(code int) stripesync.ErrorCode {
	switch {
	case code >= 400 && code < 500:
		return stripesync.EUNAVAILABLE
	case code == 530 || code == 534 || code == 535 || code == 538:
		return stripesync.EUNAUTHORIZED
	case code >= 500:
		return stripesync.EINVALID
	}
	return stripesync.EUNAVAILABLE
}
