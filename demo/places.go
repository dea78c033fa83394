package demo

// place is a real Dutch city or town with its coordinates (WGS 84, the town
// centre or a neighbourhood) and the zorgkantoor region it belongs to.
type place struct {
	City     string
	Lat, Lon float64
	Region   string
}

// places are where generated providers are located, a handful per region.
var places = []place{
	{"Groningen", 53.2194, 6.5665, "groningen"},
	{"Delfzijl", 53.3300, 6.9189, "groningen"},
	{"Veendam", 53.1067, 6.8797, "groningen"},
	{"Winschoten", 53.1440, 7.0347, "groningen"},
	{"Stadskanaal", 52.9896, 6.9505, "groningen"},
	{"Hoogezand", 53.1614, 6.7610, "groningen"},
	{"Leek", 53.1625, 6.3764, "groningen"},

	{"Leeuwarden", 53.2012, 5.7999, "friesland"},
	{"Drachten", 53.1050, 6.0989, "friesland"},
	{"Sneek", 53.0325, 5.6589, "friesland"},
	{"Heerenveen", 52.9597, 5.9194, "friesland"},
	{"Harlingen", 53.1745, 5.4223, "friesland"},
	{"Dokkum", 53.3256, 5.9989, "friesland"},
	{"Franeker", 53.1866, 5.5427, "friesland"},

	{"Assen", 52.9925, 6.5649, "drenthe"},
	{"Emmen", 52.7792, 6.9069, "drenthe"},
	{"Hoogeveen", 52.7225, 6.4764, "drenthe"},
	{"Meppel", 52.6956, 6.1944, "drenthe"},
	{"Coevorden", 52.6611, 6.7406, "drenthe"},
	{"Beilen", 52.8617, 6.5136, "drenthe"},

	{"Zwolle", 52.5168, 6.0830, "zwolle"},
	{"Kampen", 52.5550, 5.9111, "zwolle"},
	{"Hardenberg", 52.5758, 6.6194, "zwolle"},
	{"Steenwijk", 52.7875, 6.1197, "zwolle"},
	{"Dalfsen", 52.5058, 6.2567, "zwolle"},
	{"Ommen", 52.5211, 6.4214, "zwolle"},

	{"Enschede", 52.2215, 6.8937, "twente"},
	{"Hengelo", 52.2658, 6.7931, "twente"},
	{"Almelo", 52.3567, 6.6625, "twente"},
	{"Oldenzaal", 52.3131, 6.9292, "twente"},
	{"Rijssen", 52.3069, 6.5181, "twente"},
	{"Haaksbergen", 52.1567, 6.7389, "twente"},
	{"Borne", 52.2997, 6.7525, "twente"},

	{"Deventer", 52.2550, 6.1639, "midden-ijssel"},
	{"Raalte", 52.3886, 6.2750, "midden-ijssel"},
	{"Olst", 52.3372, 6.1097, "midden-ijssel"},
	{"Wijhe", 52.3867, 6.1339, "midden-ijssel"},
	{"Bathmen", 52.2500, 6.2889, "midden-ijssel"},

	{"Apeldoorn", 52.2112, 5.9699, "apeldoorn-zutphen"},
	{"Zutphen", 52.1386, 6.2014, "apeldoorn-zutphen"},
	{"Epe", 52.3475, 5.9836, "apeldoorn-zutphen"},
	{"Lochem", 52.1592, 6.4103, "apeldoorn-zutphen"},
	{"Brummen", 52.0900, 6.1556, "apeldoorn-zutphen"},
	{"Eerbeek", 52.1053, 6.0583, "apeldoorn-zutphen"},

	{"Arnhem", 51.9851, 5.8987, "arnhem"},
	{"Doetinchem", 51.9650, 6.2886, "arnhem"},
	{"Wageningen", 51.9692, 5.6654, "arnhem"},
	{"Winterswijk", 51.9725, 6.7194, "arnhem"},
	{"Zevenaar", 51.9300, 6.0708, "arnhem"},
	{"Velp", 52.0000, 5.9833, "arnhem"},
	{"Groenlo", 52.0425, 6.6161, "arnhem"},
	{"Oosterbeek", 51.9858, 5.8461, "arnhem"},

	{"Nijmegen", 51.8426, 5.8528, "nijmegen"},
	{"Wijchen", 51.8092, 5.7250, "nijmegen"},
	{"Tiel", 51.8867, 5.4292, "nijmegen"},
	{"Druten", 51.8889, 5.6056, "nijmegen"},
	{"Groesbeek", 51.7767, 5.9361, "nijmegen"},
	{"Beuningen", 51.8600, 5.7667, "nijmegen"},

	{"Almere", 52.3508, 5.2647, "flevoland"},
	{"Lelystad", 52.5185, 5.4714, "flevoland"},
	{"Dronten", 52.5250, 5.7181, "flevoland"},
	{"Zeewolde", 52.3300, 5.5417, "flevoland"},

	{"Hilversum", 52.2292, 5.1669, "t-gooi"},
	{"Huizen", 52.2992, 5.2417, "t-gooi"},
	{"Bussum", 52.2733, 5.1611, "t-gooi"},
	{"Naarden", 52.2953, 5.1625, "t-gooi"},
	{"Laren", 52.2567, 5.2278, "t-gooi"},
	{"Blaricum", 52.2725, 5.2417, "t-gooi"},

	{"Utrecht", 52.0907, 5.1214, "utrecht"},
	{"Utrecht", 52.0990, 5.0560, "utrecht"}, // Leidsche Rijn
	{"Nieuwegein", 52.0292, 5.0808, "utrecht"},
	{"Houten", 52.0283, 5.1681, "utrecht"},
	{"Zeist", 52.0894, 5.2331, "utrecht"},
	{"IJsselstein", 52.0203, 5.0433, "utrecht"},
	{"Maarssen", 52.1350, 5.0417, "utrecht"},
	{"Bilthoven", 52.1300, 5.2000, "utrecht"},
	{"Woerden", 52.0850, 4.8833, "utrecht"},
	{"Driebergen", 52.0525, 5.2806, "utrecht"},
	{"Wijk bij Duurstede", 51.9742, 5.3411, "utrecht"},
	{"Breukelen", 52.1742, 5.0014, "utrecht"},

	{"Amersfoort", 52.1561, 5.3878, "amersfoort"},
	{"Soest", 52.1733, 5.2917, "amersfoort"},
	{"Baarn", 52.2117, 5.2875, "amersfoort"},
	{"Leusden", 52.1333, 5.4333, "amersfoort"},
	{"Nijkerk", 52.2200, 5.4861, "amersfoort"},
	{"Bunschoten", 52.2433, 5.3750, "amersfoort"},
	{"Woudenberg", 52.0808, 5.4164, "amersfoort"},

	{"Alkmaar", 52.6324, 4.7534, "noord-holland-noord"},
	{"Den Helder", 52.9563, 4.7601, "noord-holland-noord"},
	{"Hoorn", 52.6425, 5.0597, "noord-holland-noord"},
	{"Heerhugowaard", 52.6700, 4.8417, "noord-holland-noord"},
	{"Schagen", 52.7875, 4.7986, "noord-holland-noord"},
	{"Enkhuizen", 52.7033, 5.2917, "noord-holland-noord"},
	{"Heiloo", 52.6000, 4.7000, "noord-holland-noord"},

	{"Haarlem", 52.3874, 4.6462, "kennemerland"},
	{"Beverwijk", 52.4867, 4.6569, "kennemerland"},
	{"Heemstede", 52.3583, 4.6194, "kennemerland"},
	{"IJmuiden", 52.4583, 4.6194, "kennemerland"},
	{"Zandvoort", 52.3717, 4.5333, "kennemerland"},
	{"Bloemendaal", 52.4031, 4.6222, "kennemerland"},
	{"Heemskerk", 52.5108, 4.6717, "kennemerland"},

	{"Zaandam", 52.4389, 4.8258, "zaanstreek-waterland"},
	{"Purmerend", 52.5050, 4.9597, "zaanstreek-waterland"},
	{"Wormerveer", 52.4917, 4.7875, "zaanstreek-waterland"},
	{"Edam", 52.5133, 5.0486, "zaanstreek-waterland"},
	{"Volendam", 52.4950, 5.0711, "zaanstreek-waterland"},
	{"Monnickendam", 52.4583, 5.0361, "zaanstreek-waterland"},
	{"Krommenie", 52.4992, 4.7633, "zaanstreek-waterland"},

	{"Amsterdam", 52.3676, 4.9041, "amsterdam"},
	{"Amsterdam", 52.3890, 4.9210, "amsterdam"}, // Noord
	{"Amsterdam", 52.3100, 4.9700, "amsterdam"}, // Zuidoost
	{"Amsterdam", 52.3610, 4.8080, "amsterdam"}, // Nieuw-West
	{"Amstelveen", 52.3114, 4.8701, "amsterdam"},
	{"Diemen", 52.3394, 4.9625, "amsterdam"},
	{"Uithoorn", 52.2375, 4.8264, "amsterdam"},
	{"Aalsmeer", 52.2639, 4.7625, "amsterdam"},

	{"Leiden", 52.1601, 4.4970, "zuid-holland-noord"},
	{"Alphen aan den Rijn", 52.1292, 4.6556, "zuid-holland-noord"},
	{"Katwijk", 52.2031, 4.4131, "zuid-holland-noord"},
	{"Noordwijk", 52.2394, 4.4436, "zuid-holland-noord"},
	{"Leiderdorp", 52.1583, 4.5292, "zuid-holland-noord"},
	{"Lisse", 52.2575, 4.5569, "zuid-holland-noord"},
	{"Oegstgeest", 52.1800, 4.4694, "zuid-holland-noord"},

	{"Den Haag", 52.0705, 4.3007, "haaglanden"},
	{"Den Haag", 52.0500, 4.2700, "haaglanden"}, // Escamp
	{"Zoetermeer", 52.0575, 4.4931, "haaglanden"},
	{"Rijswijk", 52.0361, 4.3250, "haaglanden"},
	{"Leidschendam", 52.0833, 4.3889, "haaglanden"},
	{"Voorburg", 52.0742, 4.3597, "haaglanden"},
	{"Wassenaar", 52.1428, 4.4014, "haaglanden"},

	{"Delft", 52.0116, 4.3571, "delft-westland-oostland"},
	{"Naaldwijk", 51.9942, 4.2097, "delft-westland-oostland"},
	{"Pijnacker", 52.0194, 4.4292, "delft-westland-oostland"},
	{"Monster", 52.0250, 4.1750, "delft-westland-oostland"},
	{"Berkel en Rodenrijs", 51.9933, 4.4750, "delft-westland-oostland"},
	{"Wateringen", 52.0239, 4.2736, "delft-westland-oostland"},

	{"Gouda", 52.0115, 4.7104, "midden-holland"},
	{"Waddinxveen", 52.0450, 4.6514, "midden-holland"},
	{"Schoonhoven", 51.9475, 4.8486, "midden-holland"},
	{"Bodegraven", 52.0817, 4.7500, "midden-holland"},
	{"Nieuwerkerk aan den IJssel", 51.9667, 4.6139, "midden-holland"},
	{"Reeuwijk", 52.0461, 4.7222, "midden-holland"},

	{"Rotterdam", 51.9244, 4.4777, "rotterdam"},
	{"Rotterdam", 51.8850, 4.5000, "rotterdam"}, // Zuid
	{"Schiedam", 51.9192, 4.3989, "rotterdam"},
	{"Vlaardingen", 51.9125, 4.3417, "rotterdam"},
	{"Capelle aan den IJssel", 51.9292, 4.5778, "rotterdam"},
	{"Ridderkerk", 51.8725, 4.6028, "rotterdam"},
	{"Barendrecht", 51.8567, 4.5347, "rotterdam"},
	{"Krimpen aan den IJssel", 51.9167, 4.5833, "rotterdam"},
	{"Maassluis", 51.9233, 4.2500, "rotterdam"},

	{"Dordrecht", 51.8133, 4.6901, "waardenland"},
	{"Gorinchem", 51.8306, 4.9742, "waardenland"},
	{"Zwijndrecht", 51.8175, 4.6333, "waardenland"},
	{"Papendrecht", 51.8317, 4.6869, "waardenland"},
	{"Sliedrecht", 51.8217, 4.7750, "waardenland"},
	{"Alblasserdam", 51.8658, 4.6603, "waardenland"},

	{"Spijkenisse", 51.8450, 4.3292, "zuid-hollandse-eilanden"},
	{"Hellevoetsluis", 51.8317, 4.1333, "zuid-hollandse-eilanden"},
	{"Brielle", 51.9017, 4.1625, "zuid-hollandse-eilanden"},
	{"Oud-Beijerland", 51.8225, 4.4125, "zuid-hollandse-eilanden"},
	{"Middelharnis", 51.7575, 4.1653, "zuid-hollandse-eilanden"},
	{"Ouddorp", 51.8117, 3.9347, "zuid-hollandse-eilanden"},

	{"Middelburg", 51.4988, 3.6136, "zeeland"},
	{"Vlissingen", 51.4425, 3.5736, "zeeland"},
	{"Goes", 51.5044, 3.8883, "zeeland"},
	{"Terneuzen", 51.3358, 3.8278, "zeeland"},
	{"Zierikzee", 51.6500, 3.9167, "zeeland"},
	{"Hulst", 51.2800, 4.0525, "zeeland"},
	{"Tholen", 51.5317, 4.2200, "zeeland"},

	{"Breda", 51.5719, 4.7683, "west-brabant"},
	{"Roosendaal", 51.5308, 4.4653, "west-brabant"},
	{"Bergen op Zoom", 51.4950, 4.2917, "west-brabant"},
	{"Etten-Leur", 51.5706, 4.6356, "west-brabant"},
	{"Oosterhout", 51.6450, 4.8597, "west-brabant"},
	{"Made", 51.6767, 4.7931, "west-brabant"},
	{"Zevenbergen", 51.6450, 4.6056, "west-brabant"},

	{"Tilburg", 51.5555, 5.0913, "midden-brabant"},
	{"Waalwijk", 51.6825, 5.0703, "midden-brabant"},
	{"Oisterwijk", 51.5792, 5.1889, "midden-brabant"},
	{"Goirle", 51.5208, 5.0667, "midden-brabant"},
	{"Dongen", 51.6267, 4.9389, "midden-brabant"},
	{"Gilze", 51.5433, 4.9417, "midden-brabant"},
	{"Hilvarenbeek", 51.4858, 5.1375, "midden-brabant"},

	{"'s-Hertogenbosch", 51.6978, 5.3037, "noordoost-brabant"},
	{"Oss", 51.7650, 5.5181, "noordoost-brabant"},
	{"Uden", 51.6608, 5.6194, "noordoost-brabant"},
	{"Veghel", 51.6167, 5.5486, "noordoost-brabant"},
	{"Boxtel", 51.5908, 5.3292, "noordoost-brabant"},
	{"Vught", 51.6533, 5.2875, "noordoost-brabant"},
	{"Cuijk", 51.7275, 5.8792, "noordoost-brabant"},
	{"Boxmeer", 51.6467, 5.9472, "noordoost-brabant"},

	{"Eindhoven", 51.4416, 5.4697, "zuidoost-brabant"},
	{"Helmond", 51.4817, 5.6611, "zuidoost-brabant"},
	{"Veldhoven", 51.4183, 5.4028, "zuidoost-brabant"},
	{"Best", 51.5075, 5.3903, "zuidoost-brabant"},
	{"Geldrop", 51.4217, 5.5597, "zuidoost-brabant"},
	{"Valkenswaard", 51.3508, 5.4597, "zuidoost-brabant"},
	{"Deurne", 51.4633, 5.7944, "zuidoost-brabant"},

	{"Venlo", 51.3704, 6.1724, "noord-en-midden-limburg"},
	{"Roermond", 51.1942, 5.9875, "noord-en-midden-limburg"},
	{"Venray", 51.5258, 5.9736, "noord-en-midden-limburg"},
	{"Weert", 51.2517, 5.7069, "noord-en-midden-limburg"},
	{"Gennep", 51.6983, 5.9733, "noord-en-midden-limburg"},
	{"Panningen", 51.3267, 5.9800, "noord-en-midden-limburg"},
	{"Echt", 51.1033, 5.8750, "noord-en-midden-limburg"},

	{"Maastricht", 50.8514, 5.6910, "zuid-limburg"},
	{"Heerlen", 50.8882, 5.9795, "zuid-limburg"},
	{"Sittard", 51.0000, 5.8694, "zuid-limburg"},
	{"Kerkrade", 50.8658, 6.0628, "zuid-limburg"},
	{"Geleen", 50.9742, 5.8292, "zuid-limburg"},
	{"Valkenburg", 50.8650, 5.8319, "zuid-limburg"},
	{"Brunssum", 50.9467, 5.9700, "zuid-limburg"},
}

// municipalityOf maps the G4 cities to their Wmo region (see municipalities).
var municipalityOf = map[string]string{
	"Amsterdam": "gm0363",
	"Rotterdam": "gm0599",
	"Den Haag":  "gm0518",
	"Utrecht":   "gm0344",
}

// placesIn returns the places of one zorgkantoor region, in table order.
func placesIn(region string) []place {
	var out []place
	for _, p := range places {
		if p.Region == region {
			out = append(out, p)
		}
	}
	return out
}
