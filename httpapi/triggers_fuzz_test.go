package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
)

// FuzzTriggerJSON feeds the JSON trigger parser arbitrary bodies. It must
// never panic, refuse everything it refuses as EINVALID, and accept only 1
// to MaxTriggerIDs well-formed ids of a known object.
func FuzzTriggerJSON(f *testing.F) {
	for _, seed := range []string{
		`{"object":"Account","ids":["001RO0000000001AAA"]}`,
		`{"object":"Invoice__c","ids":["a0BRO0000000001","a0BRO0000000002AAA"]}`,
		`{"ids":["001RO0000000001AAA"],"object":"Account"}`,
		` {"object":"Account","ids":["001RO0000000001AAA"]} ` + "\n",
		`{"object":"Account","ids":["001RO0000000001AAA"]}{}`,
		`{"object":"Account","ids":["001RO0000000001AAA"],"x":1}`,
		`{"Object":"Account","IDS":["001RO0000000001AAA"]}`,
		`{"object":"Contact","ids":["003RO0000000001AAA"]}`,
		`{"object":"Account","ids":["001RO0000000001' OR Id != '"]}`,
		`{"object":"Account","ids":["001RO000000000\u00e9"]}`,
		`{"object":"Account","ids":[null,1,true]}`,
		`{"object":"Account","ids":[]}`,
		`{"object":"Account","ids":` + strings.Repeat(`"001RO0000000001AAA",`, 200) + `"001RO0000000001AAA"]}`,
		`null`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	objects := map[string]bool{stripesync.ObjectAccount: true, stripesync.ObjectInvoice: true}
	idShape := regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)
	f.Fuzz(func(t *testing.T, body []byte) {
		ts, err := parseTriggerJSON(body, objects)
		if err != nil {
			if stripesync.CodeOf(err) != stripesync.EINVALID || ts != nil {
				t.Fatalf("parseTriggerJSON(%q) = %d triggers, %v; a refusal must be EINVALID with no triggers", body, len(ts), err)
			}
			return
		}
		if len(ts) < 1 || len(ts) > MaxTriggerIDs {
			t.Fatalf("parseTriggerJSON(%q) accepted %d ids", body, len(ts))
		}
		for _, tr := range ts {
			if !objects[tr.Object] || tr.Object != ts[0].Object || !idShape.MatchString(tr.RecordID) ||
				tr.NotificationID != "" || !tr.ModStamp.IsZero() || !tr.ReceivedAt.IsZero() {
				t.Fatalf("parseTriggerJSON(%q) accepted %+v", body, tr)
			}
		}
		// What was accepted is a JSON object naming exactly these ids.
		var req struct {
			IDs []string `json:"ids"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.IDs) != len(ts) {
			t.Fatalf("parseTriggerJSON(%q) accepted a body json.Unmarshal reads as %d ids, %v", body, len(req.IDs), err)
		}
	})
}
