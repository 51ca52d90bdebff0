package client

import (
	"strings"
	"time"
)

// TimelineEntry is one step of a client's service path as stored: its summary
// is made from Type when it is read (Summarize), in the reader's language.
type TimelineEntry struct {
	ID        string    `json:"id"` // the id of the event it came from: applied once
	ClientID  string    `json:"client_id"`
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	Subject   string    `json:"subject"`
	ActorRole string    `json:"actor_role,omitempty"`
	Time      time.Time `json:"time"`
}

// AccessEntry is one read of a client's data, as the client can list it.
type AccessEntry struct {
	ID       string    `json:"id"`
	ClientID string    `json:"client_id"`
	Accessor string    `json:"accessor"`
	Role     string    `json:"role"`
	Provider string    `json:"provider,omitempty"`
	Purpose  string    `json:"purpose"`
	Action   string    `json:"action"`
	Time     time.Time `json:"time"`
}

// Languages of the timeline's summaries, in the order of each summaries entry.
const (
	LangFI = "fi"
	LangSV = "sv"
	LangEN = "en"
)

// ParseLang picks the summaries' language from an Accept-Language value: the
// first of fi, sv or en named in it (by primary subtag, in the order given,
// weights ignored), else Finnish, the region's first language.
func ParseLang(acceptLanguage string) string {
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		switch primary {
		case LangFI, LangSV, LangEN:
			return primary
		}
	}
	return LangFI
}

// summaries say in plain words what an event type means for the client, in
// Finnish, Swedish and English ({fi, sv, en}). They are made when the timeline
// is read, from the stored type, so entries stored before a text changed (or
// before a language was added) read in the reader's language too. Types not
// listed fall back to a readable form of the type itself; other services add
// their event types here as they come.
var summaries = map[string][3]string{
	"polku.clients.v1.client.created": {
		"Asiakkuus alkoi ja omatyöntekijä nimettiin",
		"Klientskapet började och en egen kontaktperson utsågs",
		"The client record was created and a coordinating worker was named"},
	"polku.clients.v1.client.updated": {
		"Asiakkaan tietoja päivitettiin",
		"Klientens uppgifter uppdaterades",
		"The client's details were updated"},
	"polku.clients.v1.client.closed": {
		"Palvelupolku päättyi",
		"Servicestigen avslutades",
		"The service path was closed"},
	"polku.clients.v1.client.coordinator_assigned": {
		"Uusi omatyöntekijä aloitti",
		"En ny egen kontaktperson tog över",
		"A new coordinating worker took over"},
	"polku.clients.v1.team_member.added": {
		"Tiimiin tuli uusi jäsen",
		"En ny medlem kom med i teamet",
		"A member joined the team"},
	"polku.clients.v1.team_member.removed": {
		"Tiimistä lähti jäsen",
		"En medlem lämnade teamet",
		"A member left the team"},
	"polku.clients.v1.consent.granted": {
		"Asiakas antoi luvan tietojen jakamiseen",
		"Klienten gav samtycke till att uppgifter delas",
		"The client gave consent to share data"},
	"polku.clients.v1.consent.withdrawn": {
		"Asiakas perui luvan tietojen jakamiseen",
		"Klienten återkallade ett samtycke till att uppgifter delas",
		"The client withdrew a consent to share data"},

	"polku.referral.v1.referral.created": {
		"Lähetettä alettiin valmistella",
		"En remiss började förberedas",
		"A referral was drafted"},
	"polku.referral.v1.referral.updated": {
		"Lähetteen luonnosta muokattiin",
		"Utkastet till remissen ändrades",
		"The draft referral was edited"},
	"polku.referral.v1.referral.sent": {
		"Lähete lähetettiin palveluntuottajalle",
		"Remissen skickades till serviceproducenten",
		"The referral was sent to the service provider"},
	"polku.referral.v1.referral.received": {
		"Palveluntuottaja on nähnyt lähetteen",
		"Serviceproducenten har sett remissen",
		"The service provider has seen the referral"},
	"polku.referral.v1.referral.accepted": {
		"Palveluntuottaja otti lähetteen vastaan ja nimesi asian hoitajan",
		"Serviceproducenten tog emot remissen och namngav vem som sköter ärendet",
		"The provider accepted the referral and named who holds the matter"},
	"polku.referral.v1.referral.started": {
		"Palvelu alkoi",
		"Tjänsten började",
		"The service started"},
	"polku.referral.v1.referral.held": {
		"Palvelu on tauolla",
		"Tjänsten är pausad",
		"The service is paused"},
	"polku.referral.v1.referral.resumed": {
		"Palvelu jatkuu",
		"Tjänsten fortsätter",
		"The service continues"},
	"polku.referral.v1.referral.completed": {
		"Palvelu päättyi ja sen tulos kirjattiin",
		"Tjänsten avslutades och resultatet antecknades",
		"The service ended and the outcome was recorded"},
	"polku.referral.v1.referral.declined": {
		"Palveluntuottaja ei voinut ottaa lähetettä; se palasi työntekijälle",
		"Serviceproducenten kunde inte ta emot remissen; den gick tillbaka till arbetstagaren",
		"The provider could not take the referral; it came back to the worker"},
	"polku.referral.v1.referral.redirected": {
		"Lähete jatkuu toiseen palveluun",
		"Remissen går vidare till en annan tjänst",
		"The referral continues to another service"},
	"polku.referral.v1.referral.cancelled": {
		"Lähete peruttiin",
		"Remissen annullerades",
		"The referral was cancelled"},
	"polku.referral.v1.referral.closed": {
		"Työntekijä sulki lähetteen ohjaamatta sitä muualle",
		"Arbetstagaren stängde remissen utan att skicka den vidare",
		"The worker closed the referral without sending it on"},
	"polku.referral.v1.referral.reopened": {
		"Lähete avattiin uudelleen",
		"Remissen öppnades på nytt",
		"The referral was reopened"},
	"polku.referral.v1.referral.escalated": {
		"Lähete on myöhässä; työntekijä tai esihenkilö sai siitä ilmoituksen",
		"Remissen är försenad; arbetstagaren eller chefen fick ett meddelande",
		"The referral is overdue; the worker or the manager was alerted"},
	"polku.budget.v1.budget.created": {
		"Suunnitelmasta tehtiin henkilökohtainen budjetti",
		"En personlig budget gjordes utifrån planen",
		"A personal budget was drawn up from the plan"},
	"polku.budget.v1.budget.updated": {
		"Budjettiluonnoksen nimeä, hoitotapaa tai kautta muutettiin",
		"Budgetutkastets namn, förvaltning eller period ändrades",
		"The draft budget's title, management or period was changed"},
	"polku.budget.v1.budget.approved": {
		"Budjetti hyväksyttiin",
		"Budgeten godkändes",
		"The budget was approved"},
	"polku.budget.v1.budget.activated": {
		"Budjetti on käytössä",
		"Budgeten används",
		"The budget is in use"},
	"polku.budget.v1.budget.revised": {
		"Päivitetystä suunnitelmasta tehtiin budjetin uusi versio",
		"En ny version av budgeten gjordes utifrån den uppdaterade planen",
		"A new version of the budget was drawn up from the updated plan"},
	"polku.budget.v1.budget.closed": {
		"Budjetti suljettiin; avoimet varaukset palautettiin",
		"Budgeten stängdes; öppna reserveringar återfördes",
		"The budget was closed; open reservations were returned"},
	"polku.budget.v1.budget.closed_with_money_left": {
		"Budjetti päättyi, ja rahaa jäi käyttämättä",
		"Budgeten tog slut med pengar kvar",
		"The budget ended with money left"},
	"polku.budget.v1.budget.expiring_with_money_left": {
		"Budjettikausi päättyy pian, ja rahaa on vielä jäljellä",
		"En budgetperiod tar snart slut och det finns pengar kvar",
		"A budget period is ending soon with money left"},
	"polku.budget.v1.ledger_entry.created": {
		"Budjettirivillä rahaa varattiin, käytettiin, palautettiin tai siirrettiin",
		"Pengar reserverades, användes, återfördes eller flyttades på en budgetrad",
		"Money was reserved, used, returned or moved on a budget line"},
	"polku.budget.v1.line.usage_alert": {
		"Budjettirivistä on käytetty 80 %",
		"80 % av en budgetrad har använts",
		"A budget line is 80% used"},
	"polku.budget.v1.spend.without_commitment": {
		"Maksu kirjattiin ilman vastaavaa varausta",
		"En betalning antecknades utan motsvarande reservering",
		"A payment was recorded without a matching reservation"},
	"polku.budget.v1.claim.accepted": {
		"Palveluntuottajan lasku hyväksyttiin ja maksettiin budjetista",
		"Serviceproducentens faktura godkändes och betalades från budgeten",
		"A provider's invoice was accepted and paid from the budget"},
	"polku.assessment.v1.assessment.created": {
		"Palvelutarpeen arviointi alkoi",
		"Bedömningen av servicebehovet började",
		"A needs assessment was started"},
	"polku.assessment.v1.assessment.updated": {
		"Palvelutarpeen arvioinnin luonnosta muokattiin",
		"Utkastet till bedömningen av servicebehovet ändrades",
		"The draft needs assessment was edited"},
	"polku.assessment.v1.assessment.completed": {
		"Palvelutarpeen arviointi valmistui",
		"Bedömningen av servicebehovet blev klar",
		"The needs assessment was completed"},
	"polku.assessment.v1.assessment.corrected": {
		"Valmista palvelutarpeen arviointia korjattiin (uusi versio)",
		"En färdig bedömning av servicebehovet rättades (ny version)",
		"A completed needs assessment was corrected (new version)"},
	"polku.assessment.v1.capacity_measurement.recorded": {
		"Toimintakyvyn itsearvio kirjattiin",
		"En självskattning av funktionsförmågan antecknades",
		"A self-assessment of functioning was recorded"},
	"polku.assessment.v1.satisfaction_response.recorded": {
		"Tyytyväisyyskyselyn vastaukset kirjattiin",
		"Svaren på nöjdhetsenkäten antecknades",
		"Satisfaction survey answers were recorded"},
	"polku.assessment.v1.plan.created": {
		"Asiakassuunnitelma aloitettiin",
		"En klientplan påbörjades",
		"A client plan was started"},
	"polku.assessment.v1.plan.updated": {
		"Asiakassuunnitelman nimi tai vastuutyöntekijä vaihtui",
		"Klientplanens namn eller ansvariga arbetstagare ändrades",
		"The client plan's title or responsible worker changed"},
	"polku.assessment.v1.plan.revision_started": {
		"Asiakassuunnitelmasta aloitettiin uusi versio",
		"En ny version av klientplanen påbörjades",
		"A new version of the client plan was started"},
	"polku.assessment.v1.plan.review_recorded": {
		"Suunnitelma arvioitiin yhdessä; seuraava arviointipäivä sovittiin",
		"Planen följdes upp; nästa uppföljningsdag bestämdes",
		"The plan was reviewed; the next review date was set"},
	"polku.assessment.v1.plan.closed": {
		"Asiakassuunnitelma päättyi",
		"Klientplanen avslutades",
		"The client plan ended"},
	"polku.assessment.v1.plan_revision.updated": {
		"Asiakassuunnitelman luonnosta muokattiin",
		"Utkastet till klientplanen ändrades",
		"The draft client plan was edited"},
	"polku.assessment.v1.plan_revision.proposed": {
		"Asiakassuunnitelma lähetettiin hyväksyttäväksi",
		"Klientplanen skickades för godkännande",
		"The client plan was proposed for approval"},
	"polku.assessment.v1.plan_revision.approved": {
		"Asiakassuunnitelma hyväksyttiin",
		"Klientplanen godkändes",
		"The client plan was approved"},
	"polku.assessment.v1.plan_revision.returned": {
		"Asiakassuunnitelma palautettiin muutettavaksi",
		"Klientplanen skickades tillbaka för ändringar",
		"The client plan was returned for changes"},
	"polku.assessment.v1.plan_revision.agreement_recorded": {
		"Asiakkaan suostumus suunnitelmaan kirjattiin",
		"Klientens samtycke till planen antecknades",
		"The client's agreement to the plan was recorded"},
	"polku.assessment.v1.plan_revision.activated": {
		"Asiakassuunnitelma tuli voimaan",
		"Klientplanen trädde i kraft",
		"The client plan came into force"},
	"polku.assessment.v1.plan_revision.superseded": {
		"Suunnitelman uusi versio korvasi edellisen",
		"En ny version av planen ersatte den föregående",
		"The previous plan version was replaced by a new one"},
	"polku.assessment.v1.plan_revision.closed": {
		"Suunnitelman versio suljettiin",
		"En version av planen stängdes",
		"A plan version was closed"},
}

// Summarize returns the plain-words summary of an event type in lang (fi, sv
// or en; anything else reads Finnish). An unknown type reads as its last two
// segments ("budget.line_alert" -> "budget line alert"): better than nothing,
// and a sign that the type belongs in summaries.
func Summarize(eventType, lang string) string {
	if s, ok := summaries[eventType]; ok {
		switch lang {
		case LangSV:
			return s[1]
		case LangEN:
			return s[2]
		}
		return s[0]
	}
	parts := strings.Split(eventType, ".")
	if len(parts) >= 2 {
		return strings.ReplaceAll(parts[len(parts)-2]+" "+parts[len(parts)-1], "_", " ")
	}
	return eventType
}
