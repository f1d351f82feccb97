package sampledata

import "strings"

// This file holds the vocabulary the generator draws from. It is built by
// newVocab for each run (no package-level mutable state); lists are written
// as "|"-separated strings to keep the tables short.

// vocab is everything the generator picks from.
type vocab struct {
	countries  []country
	industries []industry
	// namePrefixes and nameStems make company base names ("Bright"+"path").
	namePrefixes, nameStems []string
	employeeRanges          []employeeRange
	contacts                contactVocab
}

// employeeRange is one of the guide's employee_range wordings with its share
// of companies and a typical head count.
type employeeRange struct {
	label  string
	weight int
	mid    int
}

// country is one headquarters country.
type country struct {
	code      string // ISO 3166-1 alpha-2, e.g. "GB"
	name      string // geo.country, e.g. "United Kingdom of Great Britain and Northern Ireland"
	shortName string // in contact locations, e.g. "United Kingdom"
	tld       string // e.g. ".co.uk"
	legal     string // legal-form suffix of company names, e.g. "Ltd"
	weight    int    // share of generated companies
	// addr formats the one-line location from number, street, postal code,
	// city and state code, e.g. "14 Hewett St, London EC2A 3NP, UK".
	addr        func(num, street, postal, city, stateCode string) string
	phonePrefix string // e.g. "+44 20 7946 0" (followed by digits)
	phoneDigits int    // random digits after phonePrefix
	cities      []city
	streets     []string
	firstNames  []string
	lastNames   []string
}

// city is a city with its state and a postal code pattern: '#' is a random
// digit, '@' a random capital letter, anything else is literal.
type city struct {
	name, state, stateCode string
	lat, lon               float64
	postal                 string
}

// industry is an industry with the words its company names and
// descriptions use.
type industry struct {
	name      string
	weight    int
	nameWords []string // "Logistics", "Freight", ...
	whats     []string // "runs freight forwarding and warehousing", ...
	audiences []string // "retailers and manufacturers", ...
}

func split(s string) []string { return strings.Split(s, "|") }

// cityList returns its arguments as a slice; it keeps the tables short.
func cityList(entries ...city) []city { return entries }

// englishFirst and englishLast are shared by the English-speaking countries.
const (
	englishFirst = "James|Mary|Robert|Patricia|Michael|Jennifer|David|Linda|William|Elizabeth|Sarah|Daniel|Emily|" +
		"Christopher|Jessica|Matthew|Ashley|Andrew|Olivia|Ethan|Sophia|Grace|Oliver|Charlotte|Noah|Amelia"
	englishLast = "Smith|Johnson|Williams|Brown|Jones|Miller|Davis|Wilson|Taylor|Anderson|Thomas|Moore|Martin|" +
		"Jackson|Thompson|White|Harris|Clark|Lewis|Walker|Hall|Young|Allen|King|Wright|Green|Baker|Evans"
)

// abbreviateStreet shortens English street types as addresses do
// ("Hewett Street" -> "Hewett St").
func abbreviateStreet(s string) string {
	for _, r := range [][2]string{{" Street", " St"}, {" Avenue", " Ave"}, {" Road", " Rd"},
		{" Boulevard", " Blvd"}, {" Drive", " Dr"}, {" Lane", " Ln"}} {
		if strings.HasSuffix(s, r[0]) {
			return strings.TrimSuffix(s, r[0]) + r[1]
		}
	}
	return strings.Replace(s, " Street ", " St ", 1)
}

func newVocab() *vocab {
	return &vocab{
		countries:  newCountries(),
		industries: newIndustries(),
		contacts:   newContactVocab(),
		employeeRanges: []employeeRange{
			{"1-10 employees", 22, 5},
			{"11-50 employees", 30, 30},
			{"51-200 employees", 24, 120},
			{"201-500 employees", 11, 350},
			{"501-1000 employees", 6, 750},
			{"1001-5000 employees", 4, 2500},
			{"5001-10000 employees", 2, 7500},
			{"10001+ employees", 1, 15000},
		},
		namePrefixes: split("North|Blue|Bright|Silver|Iron|Green|Clear|Swift|True|Prime|Apex|Nova|Vertex|Summit|" +
			"Harbor|Cedar|Maple|Falcon|Orbit|Quantum|Stone|River|Peak|Lumen|Atlas|Beacon|Crest|Delta|Ember|Fjord|" +
			"Granite|Helix|Indigo|Juniper|Keystone|Lynx|Meridian|Nimbus|Onyx|Pioneer|Quartz|Radiant|Sable|Tandem|" +
			"Vector|Willow|Zenith|Aurora|Borealis|Cobalt|Dune|Evergreen|Foundry|Glacier|Horizon|Ivory|Jade|Kinetic|" +
			"Larch|Mosaic|Northstar|Opal|Polar|Redwood|Signal|Tidal|Upland|Vivid|Westwind"),
		nameStems: split("path|wave|field|stone|point|line|bridge|works|forge|gate|logic|scale|sphere|stack|ware|" +
			"flow|core|grid|mark|yard|ridge|bay|light|hub|craft|base|loop|port|vale|shore"),
	}
}

func newCountries() []country {
	english := func(c country) country {
		c.firstNames, c.lastNames = split(englishFirst), split(englishLast)
		return c
	}
	return []country{
		english(country{
			code: "US", name: "United States of America", shortName: "United States", tld: ".com", legal: "Inc.", weight: 30,
			addr: func(num, street, postal, city, st string) string {
				return num + " " + abbreviateStreet(street) + ", " + city + ", " + st + " " + postal + ", USA"
			},
			phonePrefix: "+1 415 555 01", phoneDigits: 2,
			cities: cityList(
				city{"San Francisco", "California", "CA", 37.7749, -122.4194, "941##"},
				city{"New York", "New York", "NY", 40.7128, -74.0060, "100##"},
				city{"Austin", "Texas", "TX", 30.2672, -97.7431, "787##"},
				city{"Boston", "Massachusetts", "MA", 42.3601, -71.0589, "021##"},
				city{"Chicago", "Illinois", "IL", 41.8781, -87.6298, "606##"},
				city{"Seattle", "Washington", "WA", 47.6062, -122.3321, "981##"},
				city{"Denver", "Colorado", "CO", 39.7392, -104.9903, "802##"},
				city{"Atlanta", "Georgia", "GA", 33.7490, -84.3880, "303##"},
				city{"Miami", "Florida", "FL", 25.7617, -80.1918, "331##"},
				city{"Los Angeles", "California", "CA", 34.0522, -118.2437, "900##"},
			),
			streets: split("Market Street|Main Street|Mission Street|Oak Avenue|Park Avenue|Pine Street|Elm Street|" +
				"Sunset Boulevard|Maple Avenue|Cedar Lane|Lake Shore Drive|Congress Avenue"),
		}),
		english(country{
			code: "GB", name: "United Kingdom of Great Britain and Northern Ireland", shortName: "United Kingdom",
			tld: ".co.uk", legal: "Ltd", weight: 12,
			addr: func(num, street, postal, city, _ string) string {
				return num + " " + abbreviateStreet(street) + ", " + city + " " + postal + ", UK"
			},
			phonePrefix: "+44 20 7946 0", phoneDigits: 3,
			cities: cityList(
				city{"London", "England", "England", 51.5072, -0.1276, "EC#@ #@@"},
				city{"Manchester", "England", "England", 53.4808, -2.2426, "M# #@@"},
				city{"Birmingham", "England", "England", 52.4862, -1.8904, "B# #@@"},
				city{"Bristol", "England", "England", 51.4545, -2.5879, "BS# #@@"},
				city{"Leeds", "England", "England", 53.8008, -1.5491, "LS# #@@"},
				city{"Edinburgh", "Scotland", "Scotland", 55.9533, -3.1883, "EH# #@@"},
				city{"Glasgow", "Scotland", "Scotland", 55.8642, -4.2518, "G# #@@"},
				city{"Cardiff", "Wales", "Wales", 51.4816, -3.1791, "CF## #@@"},
			),
			streets: split("Hewett Street|High Street|King Street|Queen Street|Church Road|Station Road|" +
				"Victoria Street|Old Street|Mill Lane|Bridge Street"),
		}),
		{
			code: "DE", name: "Germany", shortName: "Germany", tld: ".de", legal: "GmbH", weight: 10,
			addr:        continentalAddr("Germany"),
			phonePrefix: "+49 30 ", phoneDigits: 8,
			cities: cityList(
				city{"Berlin", "Berlin", "BE", 52.5200, 13.4050, "10###"},
				city{"München", "Bayern", "BY", 48.1351, 11.5820, "80###"},
				city{"Hamburg", "Hamburg", "HH", 53.5511, 9.9937, "20###"},
				city{"Frankfurt am Main", "Hessen", "HE", 50.1109, 8.6821, "60###"},
				city{"Köln", "Nordrhein-Westfalen", "NW", 50.9375, 6.9603, "50###"},
				city{"Stuttgart", "Baden-Württemberg", "BW", 48.7758, 9.1829, "70###"},
			),
			streets:    split("Hauptstraße|Bahnhofstraße|Friedrichstraße|Gartenstraße|Schillerstraße|Goethestraße|Lindenallee|Marktplatz"),
			firstNames: split("Lukas|Anna|Maximilian|Lena|Felix|Laura|Jonas|Sophie|Leon|Marie|Paul|Julia|Tobias|Katharina"),
			lastNames:  split("Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Koch|Richter"),
		},
		{
			code: "FR", name: "France", shortName: "France", tld: ".fr", legal: "SAS", weight: 8,
			addr: func(num, street, postal, city, _ string) string {
				return num + " " + street + ", " + postal + " " + city + ", France"
			},
			phonePrefix: "+33 1 ", phoneDigits: 8,
			cities: cityList(
				city{"Paris", "Île-de-France", "IDF", 48.8566, 2.3522, "750##"},
				city{"Lyon", "Auvergne-Rhône-Alpes", "ARA", 45.7640, 4.8357, "6900#"},
				city{"Toulouse", "Occitanie", "OCC", 43.6047, 1.4442, "310##"},
				city{"Nantes", "Pays de la Loire", "PDL", 47.2184, -1.5536, "440##"},
				city{"Lille", "Hauts-de-France", "HDF", 50.6292, 3.0573, "590##"},
			),
			streets:    split("Rue de la Paix|Rue Victor Hugo|Avenue Jean Jaurès|Boulevard Saint-Michel|Rue de la République|Rue Pasteur|Avenue de la Gare"),
			firstNames: split("Louis|Camille|Hugo|Léa|Lucas|Manon|Thomas|Chloé|Nicolas|Julie|Antoine|Sarah"),
			lastNames:  split("Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Simon|Laurent"),
		},
		{
			code: "FI", name: "Finland", shortName: "Finland", tld: ".fi", legal: "Oy", weight: 4,
			addr:        continentalAddr("Finland"),
			phonePrefix: "+358 9 ", phoneDigits: 7,
			cities: cityList(
				city{"Helsinki", "Uusimaa", "Uusimaa", 60.1699, 24.9384, "00###"},
				city{"Espoo", "Uusimaa", "Uusimaa", 60.2055, 24.6559, "02###"},
				city{"Tampere", "Pirkanmaa", "Pirkanmaa", 61.4978, 23.7610, "33###"},
				city{"Oulu", "Pohjois-Pohjanmaa", "Pohjois-Pohjanmaa", 65.0121, 25.4651, "90###"},
				city{"Turku", "Varsinais-Suomi", "Varsinais-Suomi", 60.4518, 22.2666, "20###"},
				city{"Lahti", "Päijät-Häme", "Päijät-Häme", 60.9827, 25.6612, "15###"},
			),
			streets:    split("Mannerheimintie|Karvaamokuja|Hämeenkatu|Aleksanterinkatu|Keskuskatu|Teollisuuskatu|Kauppakatu|Satamakatu"),
			firstNames: split("Mikko|Anna|Juha|Laura|Jukka|Sanna|Timo|Maria|Antti|Johanna|Ville|Heidi"),
			lastNames:  split("Korhonen|Virtanen|Mäkinen|Nieminen|Mäkelä|Hämäläinen|Laine|Heikkinen|Koskinen|Järvinen|Lehtonen|Lehtinen"),
		},
		{
			code: "SE", name: "Sweden", shortName: "Sweden", tld: ".se", legal: "AB", weight: 5,
			addr:        continentalAddr("Sweden"),
			phonePrefix: "+46 8 ", phoneDigits: 7,
			cities: cityList(
				city{"Stockholm", "Stockholms län", "AB", 59.3293, 18.0686, "1## ##"},
				city{"Göteborg", "Västra Götalands län", "O", 57.7089, 11.9746, "4## ##"},
				city{"Malmö", "Skåne län", "M", 55.6050, 13.0038, "2## ##"},
				city{"Uppsala", "Uppsala län", "C", 59.8586, 17.6389, "75# ##"},
			),
			streets:    split("Drottninggatan|Kungsgatan|Storgatan|Vasagatan|Sveavägen|Hamngatan|Järnvägsgatan"),
			firstNames: split("Erik|Anna|Lars|Karin|Anders|Eva|Johan|Maria|Per|Sara|Oskar|Elin"),
			lastNames:  split("Andersson|Johansson|Karlsson|Nilsson|Eriksson|Larsson|Olsson|Persson|Svensson|Gustafsson|Lindberg|Berg"),
		},
		{
			code: "NL", name: "Netherlands", shortName: "Netherlands", tld: ".nl", legal: "B.V.", weight: 6,
			addr:        continentalAddr("Netherlands"),
			phonePrefix: "+31 20 ", phoneDigits: 7,
			cities: cityList(
				city{"Amsterdam", "Noord-Holland", "NH", 52.3676, 4.9041, "10## @@"},
				city{"Rotterdam", "Zuid-Holland", "ZH", 51.9244, 4.4777, "30## @@"},
				city{"Utrecht", "Utrecht", "UT", 52.0907, 5.1214, "35## @@"},
				city{"Eindhoven", "Noord-Brabant", "NB", 51.4416, 5.4697, "56## @@"},
			),
			streets:    split("Keizersgracht|Herengracht|Stationsplein|Kerkstraat|Dorpsstraat|Nieuwe Binnenweg|Marktstraat"),
			firstNames: split("Daan|Emma|Sem|Julia|Lucas|Sophie|Lars|Anna|Thijs|Eva|Bram|Lisa"),
			lastNames:  split("de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|de Boer|Mulder"),
		},
		{
			code: "ES", name: "Spain", shortName: "Spain", tld: ".es", legal: "S.L.", weight: 5,
			addr:        continentalAddr("Spain"),
			phonePrefix: "+34 91 ", phoneDigits: 7,
			cities: cityList(
				city{"Madrid", "Comunidad de Madrid", "MD", 40.4168, -3.7038, "280##"},
				city{"Barcelona", "Cataluña", "CT", 41.3874, 2.1686, "080##"},
				city{"Valencia", "Comunidad Valenciana", "VC", 39.4699, -0.3763, "460##"},
				city{"Sevilla", "Andalucía", "AN", 37.3891, -5.9845, "410##"},
			),
			streets:    split("Calle Mayor|Gran Vía|Calle de Alcalá|Paseo de Gracia|Avenida de la Constitución|Calle Real"),
			firstNames: split("Alejandro|María|Pablo|Lucía|Javier|Carmen|Daniel|Laura|Sergio|Marta|Carlos|Paula"),
			lastNames:  split("García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Gómez|Martín|Jiménez|Ruiz"),
		},
		english(country{
			code: "CA", name: "Canada", shortName: "Canada", tld: ".ca", legal: "Inc.", weight: 8,
			addr: func(num, street, postal, city, st string) string {
				return num + " " + abbreviateStreet(street) + ", " + city + ", " + st + " " + postal + ", Canada"
			},
			phonePrefix: "+1 416 555 01", phoneDigits: 2,
			cities: cityList(
				city{"Toronto", "Ontario", "ON", 43.6532, -79.3832, "M#@ #@#"},
				city{"Vancouver", "British Columbia", "BC", 49.2827, -123.1207, "V#@ #@#"},
				city{"Montréal", "Quebec", "QC", 45.5019, -73.5674, "H#@ #@#"},
				city{"Calgary", "Alberta", "AB", 51.0447, -114.0719, "T#@ #@#"},
			),
			streets: split("King Street West|Queen Street East|Yonge Street|Granville Street|Bay Street|Front Street"),
		}),
		english(country{
			code: "AU", name: "Australia", shortName: "Australia", tld: ".com.au", legal: "Pty Ltd", weight: 6,
			addr: func(num, street, postal, city, st string) string {
				return num + " " + abbreviateStreet(street) + ", " + city + " " + st + " " + postal + ", Australia"
			},
			phonePrefix: "+61 2 5550 ", phoneDigits: 4,
			cities: cityList(
				city{"Sydney", "New South Wales", "NSW", -33.8688, 151.2093, "20##"},
				city{"Melbourne", "Victoria", "VIC", -37.8136, 144.9631, "30##"},
				city{"Brisbane", "Queensland", "QLD", -27.4698, 153.0251, "40##"},
				city{"Perth", "Western Australia", "WA", -31.9523, 115.8613, "60##"},
			),
			streets: split("George Street|Collins Street|Queen Street|Pitt Street|Bourke Street|Hay Street|Elizabeth Street"),
		}),
	}
}

// continentalAddr formats "Street 12, 00380 City, Country", the guide's
// Netcontrol style.
func continentalAddr(countryName string) func(num, street, postal, city, stateCode string) string {
	return func(num, street, postal, city, _ string) string {
		return street + " " + num + ", " + postal + " " + city + ", " + countryName
	}
}

func newIndustries() []industry {
	return []industry{
		{"Software", 14, split("Software|Labs|Technologies|Systems|Cloud|Analytics"),
			split("builds cloud software|develops workflow automation tools|makes data analytics software|offers a platform for secure collaboration"),
			split("mid-sized businesses|enterprise IT teams|finance departments|fast-growing startups")},
		{"Information Technology & Services", 9, split("IT|Digital|Solutions|Consulting"),
			split("provides managed IT services|runs cloud migrations and IT operations|delivers cybersecurity and network services"),
			split("small and medium-sized companies|public sector organisations|retail chains")},
		{"Financial Services", 7, split("Capital|Finance|Payments|Partners"),
			split("provides payment processing|offers asset management and advisory services|builds trading and risk tools"),
			split("banks and brokers|private investors|merchants")},
		{"Machinery", 5, split("Machinery|Engineering|Industries"),
			split("designs and builds industrial machinery|manufactures automation equipment|supplies precision machine tools"),
			split("manufacturers|the energy sector|the food processing industry")},
		{"Manufacturing", 7, split("Manufacturing|Industries|Works"),
			split("manufactures metal components|produces packaging materials|makes electronic assemblies"),
			split("automotive suppliers|consumer brands|industrial customers")},
		{"Retail", 5, split("Retail|Stores|Goods"),
			split("runs a chain of specialty stores|sells home and garden products online|operates outdoor equipment shops"),
			split("consumers|families|outdoor enthusiasts")},
		{"Healthcare", 6, split("Health|Medical|Care"),
			split("runs outpatient clinics|develops digital health services|supplies medical devices"),
			split("patients|hospitals|care homes")},
		{"Logistics", 5, split("Logistics|Freight|Transport"),
			split("provides freight forwarding and warehousing|runs last-mile delivery|manages supply chains"),
			split("retailers and manufacturers|e-commerce brands|wholesalers")},
		{"Marketing & Advertising", 6, split("Media|Creative|Marketing|Agency"),
			split("creates digital marketing campaigns|runs performance advertising|produces brand content"),
			split("B2B companies|consumer brands|technology startups")},
		{"Education", 3, split("Learning|Academy|Education"),
			split("offers online courses|builds learning management software|runs professional training programmes"),
			split("students|corporate teams|schools")},
		{"Construction", 5, split("Construction|Builders|Build"),
			split("builds commercial buildings|delivers civil engineering projects|renovates residential properties"),
			split("property developers|municipalities|homeowners")},
		{"Real Estate", 3, split("Properties|Estates|Realty"),
			split("manages commercial property|develops residential housing|brokers office space"),
			split("investors|businesses|tenants")},
		{"Management Consulting", 4, split("Consulting|Advisors|Partners"),
			split("advises on strategy and operations|helps with digital transformation|runs change management programmes"),
			split("executive teams|mid-market companies|public sector clients")},
		{"Telecommunications", 2, split("Telecom|Networks|Connect"),
			split("operates fibre networks|provides business telephony|builds mobile network infrastructure"),
			split("businesses|municipalities|carriers")},
		{"Automotive", 2, split("Motors|Automotive|Mobility"),
			split("supplies vehicle components|develops electric drivetrains|runs vehicle fleet services"),
			split("car makers|fleet operators|dealerships")},
		{"Food & Beverages", 3, split("Foods|Kitchen|Beverages"),
			split("produces organic foods|roasts and distributes coffee|makes plant-based snacks"),
			split("grocery chains|restaurants|consumers")},
		{"Renewable Energy", 3, split("Energy|Power|Solar"),
			split("develops solar and wind projects|installs heat pumps and storage|trades renewable power"),
			split("utilities|businesses|households")},
		{"Insurance", 2, split("Insurance|Assurance|Underwriters"),
			split("offers commercial insurance|provides specialty risk cover|builds insurance software"),
			split("small businesses|shipping companies|brokers")},
		{"Legal Services", 2, split("Legal|Law|Counsel"),
			split("provides corporate legal services|advises on intellectual property|handles employment law"),
			split("startups|multinationals|employers")},
		{"Biotechnology", 2, split("Bio|Therapeutics|Biosciences"),
			split("develops diagnostic tests|researches novel therapies|provides lab services"),
			split("pharmaceutical companies|hospitals|research institutes")},
	}
}

// CountryCodes returns the ISO 3166-1 alpha-2 codes of the sample data's
// contacts and companies (the guide's FI and GB among them).
func CountryCodes() []string {
	cs := newCountries()
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.code
	}
	return out
}
