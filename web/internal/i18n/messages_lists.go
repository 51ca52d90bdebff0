package i18n

// listsMessages are the texts of long lists: paging links and the notice
// above a list read whole that stopped at its bound.
var listsMessages = map[string][3]string{
	"lists.next":   {"Seuraava sivu", "Nästa sida", "Next page"},
	"lists.first":  {"Takaisin ensimmäiselle sivulle", "Tillbaka till första sidan", "Back to the first page"},
	"lists.pages":  {"Sivut: %s", "Sidor: %s", "Pages: %s"},
	"lists.capped": {"Luettelossa näytetään vain %d ensimmäistä. Niitä on enemmän kuin yhdelle sivulle mahtuu.", "Listan visar bara de %d första. Det finns fler än vad som ryms på en sida.", "The list shows only the first %d. There are more than fit on one page."},
	"lists.token":  {"Sivun linkki ei ole kelvollinen. Aloita luettelon ensimmäiseltä sivulta.", "Sidans länk är inte giltig. Börja från listans första sida.", "The page link is not valid. Start from the first page of the list."},
}

func init() { register(listsMessages) }
