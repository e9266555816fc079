// Package e2e holds sqlprof's end-to-end tests and examples against real
// databases (SQLite through modernc.org/sqlite, PostgreSQL through pgx), in
// a module of its own so that sqlprof's module requires no database driver.
package e2e
