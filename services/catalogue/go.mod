module github.com/polku-hb/polku/services/catalogue

go 1.26
