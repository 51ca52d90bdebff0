module github.com/polku-hb/polku/services/clients

go 1.26
