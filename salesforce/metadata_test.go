// Package salesforce_test checks the Salesforce metadata under force-app,
// which admins deploy with the sf CLI (Go only embeds the workflow files).
// No org is reachable from a test, so these tests hold the files to what a
// deploy and the daemon need: well-formed XML in the Metadata API
// namespace, a field file for every name the daemon reads or writes,
// picklist values the domain parses, outbound messages and Apex that reach
// the daemon's routes with the daemon's signature, and rule criteria that
// fire on what the daemon pushes or pulls but not on its write-backs.
package salesforce_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	// metadataNS is the namespace of every Metadata API file.
	metadataNS = "http://soap.sforce.com/2006/04/metadata"
	// sourceDir is the default package directory of sfdx-project.json.
	sourceDir = "force-app/main/default"
	// apiVersion is the version the project, the Apex and the outbound
	// messages are written against; the daemon's REST default is the same.
	apiVersion = "62.0"
	xmlDecl    = `<?xml version="1.0" encoding="UTF-8"?>`
)

// rootElements maps each metadata file suffix to the root element the
// Metadata API expects in it. A file with a suffix not listed here fails
// TestMetadataFilesAreWellFormed, so a new kind of file gets checked too.
var rootElements = map[string]string{
	".field-meta.xml":              "CustomField",
	".object-meta.xml":             "CustomObject",
	".workflow-meta.xml":           "Workflow",
	".remoteSite-meta.xml":         "RemoteSiteSetting",
	".permissionset-meta.xml":      "PermissionSet",
	".cls-meta.xml":                "ApexClass",
	".trigger-meta.xml":            "ApexTrigger",
	".page-meta.xml":               "ApexPage",
	".layout-meta.xml":             "Layout",
	".quickAction-meta.xml":        "QuickAction",
	".webLink-meta.xml":            "WebLink",
	".namedCredential-meta.xml":    "NamedCredential",
	".externalCredential-meta.xml": "ExternalCredential",
}

// apexSources are the source suffixes that must have a -meta.xml beside
// them (and the other way round).
var apexSources = []string{".cls", ".trigger", ".page"}

func TestMetadataFilesAreWellFormed(t *testing.T) {
	var checked int
	err := filepath.WalkDir(sourceDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		checked++
		if ext := filepath.Ext(path); slices.Contains(apexSources, ext) {
			if _, err := os.Stat(path + "-meta.xml"); err != nil {
				t.Errorf("%s has no %s-meta.xml beside it", path, filepath.Base(path))
			}
			if ext == ".page" {
				checkVisualforceMarkup(t, path)
			}
			return nil
		}
		want, suffix := expectedRoot(path)
		if want == "" {
			t.Errorf("%s: unknown kind of metadata file (add its suffix to rootElements)", path)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(data, []byte(xmlDecl)) {
			t.Errorf("%s does not start with %s", path, xmlDecl)
		}
		root, err := walkXML(data)
		if err != nil {
			t.Errorf("%s is not well-formed XML: %v", path, err)
			return nil
		}
		if root != (xml.Name{Space: metadataNS, Local: want}) {
			t.Errorf("%s: root element is {%s}%s, want {%s}%s", path, root.Space, root.Local, metadataNS, want)
		}
		if src, ok := strings.CutSuffix(path, "-meta.xml"); ok && slices.Contains(apexSources, filepath.Ext(src)) {
			if _, err := os.Stat(src); err != nil {
				t.Errorf("%s describes %s, which does not exist", path, src)
			}
			checkApexMeta(t, path, want)
		}
		if suffix == ".field-meta.xml" {
			checkFieldFile(t, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked %d files under %s; the metadata is missing", checked, sourceDir)
	}
}

func expectedRoot(path string) (root, suffix string) {
	for suffix, root := range rootElements {
		if strings.HasSuffix(path, suffix) {
			return root, suffix
		}
	}
	return "", ""
}

// walkXML reads every token of data, which fails on anything that is not
// well-formed (unclosed or mismatched elements, bad entities, text after
// the root), and returns the root element's name.
func walkXML(data []byte) (xml.Name, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root xml.Name
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if root.Local == "" {
				return root, errors.New("no root element")
			}
			return root, nil
		}
		if err != nil {
			return root, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root.Local != "" {
					return root, errors.New("more than one root element")
				}
				root = tok.Name
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return root, errors.New("text outside the root element")
			}
		}
	}
}

// checkApexMeta checks the apiVersion of an Apex class, trigger or
// Visualforce page, and that classes and triggers are Active (pages have no
// status).
func checkApexMeta(t *testing.T, path, root string) {
	t.Helper()
	var meta struct {
		APIVersion string `xml:"apiVersion"`
		Status     string `xml:"status"`
		Label      string `xml:"label"`
	}
	readXML(t, path, &meta)
	if root == "ApexPage" {
		if meta.APIVersion != apiVersion || meta.Status != "" || meta.Label == "" {
			t.Errorf("%s: ApexPage apiVersion %q status %q label %q, want %q, no status, a label", path, meta.APIVersion, meta.Status, meta.Label, apiVersion)
		}
		return
	}
	if meta.APIVersion != apiVersion || meta.Status != "Active" {
		t.Errorf("%s: %s apiVersion %q status %q, want %q Active", path, root, meta.APIVersion, meta.Status, apiVersion)
	}
}

// checkVisualforceMarkup checks that a Visualforce page is well-formed XML
// (the Visualforce compiler refuses anything else) with one <apex:page>
// root.
func checkVisualforceMarkup(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	root, err := walkXML(data)
	if err != nil {
		t.Errorf("%s is not well-formed XML: %v", path, err)
		return
	}
	if root != (xml.Name{Space: "apex", Local: "page"}) {
		t.Errorf("%s: root element is %s:%s, want apex:page", path, root.Space, root.Local)
	}
}

// checkFieldFile checks that a field file sits in objects/<Object>/fields
// and names itself after its file, as source format requires.
func checkFieldFile(t *testing.T, path string) {
	t.Helper()
	var f customField
	readXML(t, path, &f)
	if want := strings.TrimSuffix(filepath.Base(path), ".field-meta.xml"); f.FullName != want {
		t.Errorf("%s: fullName %q, want %q", path, f.FullName, want)
	}
	if filepath.Base(filepath.Dir(path)) != "fields" || filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path)))) != "objects" {
		t.Errorf("%s is not in objects/<Object>/fields", path)
	}
}

func readXML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

func TestProjectFile(t *testing.T) {
	data, err := os.ReadFile("sfdx-project.json")
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		PackageDirectories []struct {
			Path    string `json:"path"`
			Default bool   `json:"default"`
		} `json:"packageDirectories"`
		Name             string `json:"name"`
		Namespace        string `json:"namespace"`
		SfdcLoginURL     string `json:"sfdcLoginUrl"`
		SourceAPIVersion string `json:"sourceApiVersion"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&project); err != nil {
		t.Fatalf("sfdx-project.json: %v", err)
	}
	if project.SourceAPIVersion != apiVersion {
		t.Errorf("sourceApiVersion = %q, want %q", project.SourceAPIVersion, apiVersion)
	}
	var defaults []string
	for _, d := range project.PackageDirectories {
		if d.Default {
			defaults = append(defaults, d.Path)
		}
	}
	if len(defaults) != 1 || !strings.HasPrefix(sourceDir, defaults[0]+"/") {
		t.Errorf("default package directories = %q, want the one holding %s", defaults, sourceDir)
	}
	if project.Namespace != "" {
		t.Errorf("namespace = %q; the field names the daemon uses carry no namespace prefix", project.Namespace)
	}
}

// placeholder matches the values an admin must replace before deploying.
var placeholder = regexp.MustCompile(`REPLACE_WITH_[A-Z_]+|https://stripesync\.example\.com`)

// TestPlaceholdersAreDocumented makes sure the README tells the admin about
// every value to replace, and about the daemon settings that must match.
func TestPlaceholdersAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err = filepath.WalkDir(sourceDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "Test.cls") {
			return err
		}
		data, err := os.ReadFile(path)
		for _, m := range placeholder.FindAll(data, -1) {
			found[string(m)] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"REPLACE_WITH_TRIGGER_SECRET", "REPLACE_WITH_INTEGRATION_USERNAME", "https://stripesync.example.com"} {
		if !found[want] {
			t.Errorf("placeholder %s is not used in the metadata; update this test and the README", want)
		}
	}
	for p := range found {
		if !bytes.Contains(readme, []byte(p)) {
			t.Errorf("README.md does not say what to put in place of %s", p)
		}
	}
	for _, env := range []string{"SALESFORCE_ORG_ID", "STRIPESYNC_TRIGGER_SECRET", "STRIPESYNC_PUBLIC_URL"} {
		if !bytes.Contains(readme, []byte(env)) {
			t.Errorf("README.md does not mention %s", env)
		}
	}
}
