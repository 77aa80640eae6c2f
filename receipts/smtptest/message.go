package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Message is one accepted message, parsed with the standard library.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	// Subject is the Subject header, RFC 2047 words decoded.
	Subject string
	// Text is the first text/plain part that is not an attachment,
	// transfer-decoded, with CRLF line ends turned into LF.
	Text string
	// HTML is the first text/html part that is not an attachment, decoded
	// the same way.
	HTML string
	// MessageID is the Message-ID header as sent, angle brackets included.
	MessageID   string
	Attachments []Attachment
	// TLS reports whether the message came over TLS (STARTTLS or smtps).
	TLS bool
	// Session numbers the connection that carried the message, from 1 in
	// the order connections opened; Connected is when it opened and
	// Disconnected when it closed, zero while it is open. A test that
	// interrupts a sender tells by them whether the sender was still in
	// the conversation at that moment.
	Session      int
	Connected    time.Time
	Disconnected time.Time
	// Raw is the message as received, after SMTP dot-unstuffing.
	Raw []byte
}

// Attachment is a part sent as an attachment (or with a file name).
type Attachment struct {
	Name        string // file name from Content-Disposition or Content-Type
	ContentType string // media type without parameters, e.g. "application/pdf"
	Data        []byte // transfer-decoded
}

// parse reads the headers and walks the MIME tree of raw.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Message{}, fmt.Errorf("subject: %w", err)
	}
	m := Message{Subject: subject, MessageID: msg.Header.Get("Message-Id"), Raw: raw}
	if err := m.walk(textproto.MIMEHeader(msg.Header), msg.Body); err != nil {
		return Message{}, err
	}
	return m, nil
}

// walk visits a part: multiparts recursively, leaves as text or attachment.
func (m *Message) walk(h textproto.MIMEHeader, body io.Reader) error {
	mediaType, params := "text/plain", map[string]string{}
	if ct := h.Get("Content-Type"); ct != "" {
		var err error
		if mediaType, params, err = mime.ParseMediaType(ct); err != nil {
			return fmt.Errorf("content type %q: %w", ct, err)
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := m.walk(part.Header, part); err != nil {
				return err
			}
		}
	}
	data, err := transferDecode(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return err
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	var dec mime.WordDecoder
	if decoded, err := dec.DecodeHeader(name); err == nil {
		name = decoded
	}
	switch {
	case disposition == "attachment" || name != "":
		m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: mediaType, Data: data})
	case mediaType == "text/plain" && m.Text == "":
		m.Text = strings.ReplaceAll(string(data), "\r\n", "\n")
	case mediaType == "text/html" && m.HTML == "":
		m.HTML = strings.ReplaceAll(string(data), "\r\n", "\n")
	}
	return nil
}

func transferDecode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks itself
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "", "7bit", "8bit", "binary":
	default:
		return nil, fmt.Errorf("unknown Content-Transfer-Encoding %q", encoding)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s body: %w", encoding, err)
	}
	return data, nil
}

// save writes message seq of a Dir: NNN.eml and NNN-<name> per attachment.
func save(dir string, seq int, m Message) error {
	prefix := filepath.Join(dir, fmt.Sprintf("%03d", seq))
	if err := os.WriteFile(prefix+".eml", m.Raw, 0o644); err != nil {
		return err
	}
	for i, a := range m.Attachments {
		name := safeName(a.Name)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		if err := os.WriteFile(prefix+"-"+name, a.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// safeName reduces a sender-chosen file name to one that stays inside Dir.
func safeName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, name)
	return strings.TrimLeft(name, ".")
}

// ReadFile parses a message that a Server with Options.Dir saved (its
// NNN.eml), so that a test can read the mail a process it started received.
// The envelope (From, To) and the session fields are not in the file and
// stay zero.
func ReadFile(path string) (Message, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Message{}, err
	}
	return parse(raw)
}
