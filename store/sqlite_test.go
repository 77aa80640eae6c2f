package store_test

import (
	"testing"

	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.DB { return storetest.OpenSQLite(t) })
}

func TestSQLiteReclaim(t *testing.T) {
	storetest.RunReclaim(t, func(t *testing.T) string { return storetest.SQLiteURL(t) })
}
