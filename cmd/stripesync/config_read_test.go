package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEverySettingIsRead: each field of Config (each setting -h lists) is
// read somewhere outside config.go, where it is only parsed, checked and
// logged. A setting nothing reads promises what the daemon does not do.
func TestEverySettingIsRead(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == "config.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				read[sel.Sel.Name] = true
			}
			return true
		})
	}
	for field := range reflect.TypeFor[Config]().Fields() {
		if !read[field.Name] {
			t.Errorf("Config.%s is parsed but never read outside config.go: implement what it promises or remove it", field.Name)
		}
	}
}
