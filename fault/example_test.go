package fault_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/fault"
)

// Simulate an outage of a real account's primary, as the original sample did
// with a Fiddler rule: reads of HelloWorld.png from the primary answer 503
// for 30 seconds, while the secondary keeps working.
func ExampleTransport() {
	rules := fault.NewSet()
	id, err := rules.Add(fault.Rule{
		Endpoint: fault.Primary,
		Match:    fault.Match{Op: fault.Read, Blob: "HelloWorld.png"},
		Action:   fault.Action{Status: http.StatusServiceUnavailable},
		Limits:   fault.Limits{For: fault.Duration(30 * time.Second)},
	})
	if err != nil {
		panic(err)
	}

	// azcore accepts anything with Do(*http.Request); an *http.Client whose
	// Transport is the injector will do.
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &fault.Transport{Rules: rules}},
	}}
	client, err := azblob.NewClientWithNoCredential("https://myaccount.blob.core.windows.net/?sv=...", opts)
	if err != nil {
		panic(err)
	}
	_ = client // use it as usual; the outage ends when the rule expires or is removed

	st, _ := rules.Get(id)
	fmt.Println(st.Rule)
	// Output: primary reads blob~HelloWorld.png -> 503 ServerBusy [for=30s]
}
