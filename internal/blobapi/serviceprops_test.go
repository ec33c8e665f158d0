package blobapi_test

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

const spPath = "/" + devAccount + "/?restype=service&comp=properties"

func corsRule(origins, methods, maxAge string) string {
	return "<CorsRule><AllowedOrigins>" + origins + "</AllowedOrigins><AllowedMethods>" + methods +
		"</AllowedMethods><MaxAgeInSeconds>" + maxAge + "</MaxAgeInSeconds><ExposedHeaders>x-ms-*</ExposedHeaders><AllowedHeaders>x-ms-meta-*</AllowedHeaders></CorsRule>"
}

func TestSetServicePropertiesValidation(t *testing.T) {
	e := newEnv(t)
	doc := func(inner string) string { return "<StorageServiceProperties>" + inner + "</StorageServiceProperties>" }
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"valid cors", doc("<Cors>" + corsRule("https://a.example,https://b.example", "GET,PUT", "60") + "</Cors>"), 202, ""},
		{"earliest default version", doc("<DefaultServiceVersion>2008-10-27</DefaultServiceVersion>"), 202, ""},
		{"valid default version", doc("<DefaultServiceVersion>2021-08-06</DefaultServiceVersion>"), 202, ""},
		{"malformed default version", doc("<DefaultServiceVersion>garbage</DefaultServiceVersion>"), 400, "InvalidXmlNodeValue"},
		{"default version not a date", doc("<DefaultServiceVersion>2021-02-30</DefaultServiceVersion>"), 400, "InvalidXmlNodeValue"},
		{"default version too old", doc("<DefaultServiceVersion>2008-10-26</DefaultServiceVersion>"), 400, "InvalidXmlNodeValue"},
		{"unknown top-level element", doc("<Frobnicate>1</Frobnicate>"), 400, "InvalidXmlDocument"},
		{"unknown nested element", doc("<Logging><Verbose>true</Verbose></Logging>"), 400, "InvalidXmlDocument"},
		{"element twice", doc("<Logging><Read>true</Read><Read>false</Read></Logging>"), 400, "InvalidXmlDocument"},
		{"too deep", doc("<Logging><Read><x/></Read></Logging>"), 400, "InvalidXmlDocument"},
		{"bad bool", doc("<HourMetrics><Enabled>yes</Enabled></HourMetrics>"), 400, "InvalidXmlNodeValue"},
		{"bad days", doc("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>400</Days></DeleteRetentionPolicy>"), 400, "InvalidXmlNodeValue"},
		{"six cors rules", doc("<Cors>" + strings.Repeat(corsRule("*", "GET", "1"), 6) + "</Cors>"), 400, "InvalidXmlNodeValue"},
		{"bad cors method", doc("<Cors>" + corsRule("*", "GET,FETCH", "1") + "</Cors>"), 400, "InvalidXmlNodeValue"},
		{"negative max age", doc("<Cors>" + corsRule("*", "GET", "-1") + "</Cors>"), 400, "InvalidXmlNodeValue"},
		{"cors rule without origins", doc("<Cors><CorsRule><AllowedMethods>GET</AllowedMethods><MaxAgeInSeconds>1</MaxAgeInSeconds></CorsRule></Cors>"), 400, "InvalidXmlNodeValue"},
		{"origin too long", doc("<Cors>" + corsRule("https://"+strings.Repeat("a", 300), "GET", "1") + "</Cors>"), 400, "InvalidXmlNodeValue"},
		{"cors settings over 2 KiB", doc("<Cors>" + strings.Repeat(corsRule(strings.Repeat("https://abcdefghijklmnopqrstuvwxyz.example,", 30)+"*", "GET", "1"), 2) + "</Cors>"), 400, "InvalidXmlNodeValue"},
		{"three prefixed headers", doc("<Cors><CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>GET</AllowedMethods><MaxAgeInSeconds>1</MaxAgeInSeconds><AllowedHeaders>a*,b*,c*</AllowedHeaders></CorsRule></Cors>"), 400, "InvalidXmlNodeValue"},
		{"soft delete on", doc("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>7</Days></DeleteRetentionPolicy>"), 202, ""},
		{"soft delete on without days", doc("<DeleteRetentionPolicy><Enabled>true</Enabled></DeleteRetentionPolicy>"), 400, "InvalidXmlNodeValue"},
		{"permanent delete: not modelled", doc("<DeleteRetentionPolicy><Enabled>true</Enabled><Days>7</Days><AllowPermanentDelete>true</AllowPermanentDelete></DeleteRetentionPolicy>"), 501, "NotImplemented"},
		{"soft delete off", doc("<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>"), 202, ""},
		{"static website on: not modelled", doc("<StaticWebsite><Enabled>true</Enabled><IndexDocument>index.html</IndexDocument></StaticWebsite>"), 501, "NotImplemented"},
		{"body over the cap", doc("<DefaultServiceVersion>" + strings.Repeat("x", 70<<10) + "</DefaultServiceVersion>"), 413, "RequestBodyTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := getServiceProperties(t, e)
			resp := e.do("PUT", spPath, nil, strings.NewReader(tt.body))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, body)
			}
			if tt.status >= 400 && getServiceProperties(t, e) != before {
				t.Fatal("a refused update changed the stored properties")
			}
		})
	}
	// What was accepted reads back through the SDK.
	props, err := svc(e.client).GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(props.CORS) != 1 || *props.CORS[0].AllowedMethods != "GET,PUT" || *props.CORS[0].MaxAgeInSeconds != 60 {
		t.Fatalf("CORS read back as %+v", props.CORS)
	}
	if props.DefaultServiceVersion == nil || *props.DefaultServiceVersion != "2021-08-06" {
		t.Fatalf("DefaultServiceVersion read back as %v", props.DefaultServiceVersion)
	}
}

func getServiceProperties(t *testing.T, e *env) string {
	t.Helper()
	resp := e.do("GET", spPath, nil, nil)
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get service properties: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// TestSetServicePropertiesConcurrentUpdatesKept sends concurrent updates of
// different elements: each acknowledged update must survive. Reading the
// stored document and writing the merge back in two steps lost some.
func TestSetServicePropertiesConcurrentUpdatesKept(t *testing.T) {
	e := newEnv(t)
	elems := []string{"Logging", "HourMetrics", "MinuteMetrics", "DeleteRetentionPolicy", "StaticWebsite", "DefaultServiceVersion"}
	for round := range 10 {
		var wg sync.WaitGroup
		for _, el := range elems {
			wg.Add(1)
			go func() {
				defer wg.Done()
				opts := &service.SetPropertiesOptions{}
				days := to.Ptr(int32(round + 1))
				switch el {
				case "Logging":
					opts.Logging = &service.Logging{Version: to.Ptr("1.0"), Read: to.Ptr(true), Write: to.Ptr(true), Delete: to.Ptr(true), RetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: days}}
				case "HourMetrics":
					opts.HourMetrics = &service.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true), IncludeAPIs: to.Ptr(true), RetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: days}}
				case "MinuteMetrics":
					opts.MinuteMetrics = &service.Metrics{Version: to.Ptr("1.0"), Enabled: to.Ptr(true), IncludeAPIs: to.Ptr(false), RetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: days}}
				case "DeleteRetentionPolicy":
					opts.DeleteRetentionPolicy = &service.RetentionPolicy{Enabled: to.Ptr(false), Days: days}
				case "StaticWebsite":
					opts.StaticWebsite = &service.StaticWebsite{Enabled: to.Ptr(false), IndexDocument: to.Ptr(fmt.Sprintf("index%d.html", round))}
				case "DefaultServiceVersion":
					opts.DefaultServiceVersion = to.Ptr(fmt.Sprintf("2020-10-%02d", round+1))
				}
				if _, err := svc(e.client).SetProperties(ctx(), opts); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		p, err := svc(e.client).GetProperties(ctx(), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := int32(round + 1)
		switch {
		case p.Logging == nil || *p.Logging.RetentionPolicy.Days != want,
			p.HourMetrics == nil || *p.HourMetrics.RetentionPolicy.Days != want,
			p.MinuteMetrics == nil || *p.MinuteMetrics.RetentionPolicy.Days != want,
			p.DeleteRetentionPolicy == nil || *p.DeleteRetentionPolicy.Days != want,
			p.StaticWebsite == nil || *p.StaticWebsite.IndexDocument != fmt.Sprintf("index%d.html", round),
			p.DefaultServiceVersion == nil || *p.DefaultServiceVersion != fmt.Sprintf("2020-10-%02d", round+1):
			t.Fatalf("round %d: an acknowledged update was lost: %+v", round, p)
		}
	}
}

// TestSetServicePropertiesLargeBodyRefused sends the shape that cost 19 s
// of CPU: 709 KB of distinct top-level elements, which the former merge
// compared pairwise. It is refused on its size before any parsing; smaller
// bodies are parsed in one pass and refused at the first unknown element.
func TestSetServicePropertiesLargeBodyRefused(t *testing.T) {
	e := newEnv(t)
	var b strings.Builder
	b.WriteString("<StorageServiceProperties>")
	for i := 0; b.Len() < 709<<10; i++ {
		fmt.Fprintf(&b, "<e%d/>", i)
	}
	b.WriteString("</StorageServiceProperties>")
	start := time.Now()
	resp := e.do("PUT", spPath, nil, strings.NewReader(b.String()))
	if resp.StatusCode != 413 || resp.Header.Get("x-ms-error-code") != "RequestBodyTooLarge" {
		t.Fatalf("got %d %q, want 413 RequestBodyTooLarge", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	t.Logf("709 KB body answered in %v", time.Since(start))
}
