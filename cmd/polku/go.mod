module github.com/polku-hb/polku/cmd/polku

go 1.26
