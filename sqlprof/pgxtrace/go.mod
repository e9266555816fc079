module github.com/reqprof/reqprof/sqlprof/pgxtrace

go 1.25.0

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/reqprof/reqprof v0.0.0-00010101000000-000000000000
	golang.org/x/exp v0.0.0-20260813180055-c1d0aacb2297
)

require (
	github.com/google/pprof v0.0.0-20260902005441-ca85771921e4 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)
