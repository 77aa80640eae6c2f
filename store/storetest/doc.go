// Package storetest holds the conformance suite that every dialect of
// package store must pass, and the helpers other packages' tests use to get
// a real, migrated store: [OpenSQLite] (always available) and
// [OpenPostgres] (when STRIPESYNC_TEST_DATABASE_URL is set). It is for
// tests only.
package storetest
