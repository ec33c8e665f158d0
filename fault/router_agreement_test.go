package fault_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/fault"
)

// TestRouterAndTransportAgree: for a path-style host with dots, such as
// emu.localhost, the geoblob router and fault.Transport must name the same
// location for every URL the router sends to, so that a rule for the
// secondary fires on the router's secondary reads. They once disagreed: the
// router read emu.localhost path-style and the Transport host-style, and a
// secondary 503 rule never fired.
func TestRouterAndTransportAgree(t *testing.T) {
	for _, primary := range []string{
		"http://emu.localhost:10000/devstoreaccount1",
		"http://127.0.0.1:10000/devstoreaccount1",
		"http://azurite:10000/devstoreaccount1",
		"https://acct.blob.core.windows.net",
	} {
		t.Run(primary, func(t *testing.T) {
			router, err := geoblob.NewRouter(primary, nil)
			if err != nil {
				t.Fatal(err)
			}
			rules := fault.NewSet()
			t.Cleanup(rules.Close)
			if _, err := rules.Add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Status: 503}}); err != nil {
				t.Fatal(err)
			}
			reached := 0
			tr := &fault.Transport{Rules: rules, Base: roundTrip(func(r *http.Request) (*http.Response, error) {
				reached++
				return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
			})}
			for _, tc := range []struct {
				base string
				want int
			}{{router.SecondaryURL(), 503}, {router.PrimaryURL(), 200}} {
				resp, err := tr.RoundTrip(httptest.NewRequest("GET", tc.base+"/c/b", nil))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s/c/b: %d, want %d", tc.base, resp.StatusCode, tc.want)
				}
			}
			if reached != 1 {
				t.Errorf("%d requests reached the network, want only the primary's", reached)
			}
		})
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
