package i18n

// agreeMessages are the client's own agreement to a plan on their page:
// plain language, the client reads them.
var agreeMessages = map[string][3]string{
	"agree.title":            {"Uusi suunnitelma odottaa hyväksyntääsi", "En ny plan väntar på ditt godkännande", "A new plan is waiting for your agreement"},
	"agree.intro":            {"Työntekijäsi on tehnyt sinulle uuden suunnitelman. Lue tavoitteet ja palvelut. Jos ne ovat sinusta oikein, hyväksy suunnitelma tässä.", "Din arbetare har gjort en ny plan för dig. Läs målen och tjänsterna. Om de känns rätt, godkänn planen här.", "Your worker has made a new plan for you. Read the goals and services. If they are right for you, agree to the plan here."},
	"agree.confirm":          {"Olen lukenut suunnitelman ja hyväksyn sen", "Jag har läst planen och godkänner den", "I have read the plan and I agree to it"},
	"agree.note":             {"Haluatko sanoa jotain suunnitelmasta? (ei pakollinen)", "Vill du säga något om planen? (frivilligt)", "Anything you want to say about the plan? (optional)"},
	"agree.button":           {"Hyväksyn suunnitelman", "Jag godkänner planen", "I agree to the plan"},
	"agree.notyou":           {"Vain asiakas itse voi hyväksyä suunnitelman verkossa. Asiakas voi myös kertoa hyväksynnästään työntekijälle.", "Bara klienten själv kan godkänna planen på nätet. Klienten kan också berätta om sitt godkännande för arbetaren.", "Only the client can agree to the plan online. The client can also tell the worker that they agree."},
	"agree.confirm.required": {"Rastita ensin, että olet lukenut suunnitelman ja hyväksyt sen.", "Kryssa först i att du har läst planen och godkänner den.", "First tick that you have read the plan and agree to it."},
	"ok.agree.recorded":      {"Kiitos! Hyväksyntäsi on tallennettu. Työntekijäsi näkee sen.", "Tack! Ditt godkännande har sparats. Din arbetare ser det.", "Thank you! Your agreement is saved. Your worker can see it."},
}

func init() { register(agreeMessages) }
