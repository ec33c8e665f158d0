package blobapi

import (
	"strings"
	"testing"
	"time"
)

// TestStoredServicePropertiesWithOldDefaultVersion: before Set Service
// Properties checked DefaultServiceVersion, any text was stored, and a
// data directory may still hold it. Such a document must keep working:
// its soft delete, container soft delete and CORS rules still apply, and
// a later Set keeps the settings it leaves out. Only a request naming an
// invalid version is refused.
func TestStoredServicePropertiesWithOldDefaultVersion(t *testing.T) {
	stored := []byte(`<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties>` +
		`<DefaultServiceVersion>garbage</DefaultServiceVersion>` +
		`<Cors><CorsRule><AllowedOrigins>https://a.example</AllowedOrigins><AllowedMethods>GET</AllowedMethods><MaxAgeInSeconds>60</MaxAgeInSeconds><ExposedHeaders></ExposedHeaders><AllowedHeaders></AllowedHeaders></CorsRule></Cors>` +
		`<DeleteRetentionPolicy><Enabled>true</Enabled><Days>7</Days></DeleteRetentionPolicy>` +
		`<ContainerDeleteRetentionPolicy><Enabled>true</Enabled><Days>3</Days></ContainerDeleteRetentionPolicy>` +
		`</StorageServiceProperties>`)
	tests := []struct {
		name string
		got  func() bool
	}{
		{"blob soft delete applies", func() bool { return parseDeleteRetention(stored) == 7*24*time.Hour }},
		{"container soft delete applies", func() bool { return containerRetention(stored) == 3*24*time.Hour }},
		{"CORS rules apply", func() bool { return len(corsRules(stored)) == 1 }},
		{"a Set of other settings keeps them", func() bool {
			doc, err := mergeServiceProperties(stored, []byte(`<StorageServiceProperties><HourMetrics><Version>1.0</Version><Enabled>false</Enabled></HourMetrics></StorageServiceProperties>`))
			return err == nil && strings.Contains(string(doc), "<Days>7</Days>") && strings.Contains(string(doc), "<CorsRule>")
		}},
		{"a Set naming an invalid version is refused", func() bool {
			_, err := mergeServiceProperties(stored, []byte(`<StorageServiceProperties><DefaultServiceVersion>2021-02-30</DefaultServiceVersion></StorageServiceProperties>`))
			return err != nil
		}},
		{"a Set replacing it with a valid version is taken", func() bool {
			doc, err := mergeServiceProperties(stored, []byte(`<StorageServiceProperties><DefaultServiceVersion>2021-08-06</DefaultServiceVersion></StorageServiceProperties>`))
			return err == nil && !strings.Contains(string(doc), "garbage") && strings.Contains(string(doc), "<Days>7</Days>")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.got() {
				t.Fatal("failed")
			}
		})
	}
}
