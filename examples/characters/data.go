package characters

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Character is the response of GET /characters/{id}. Two reads of the same
// character differ only in Views.
type Character struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Views int64  `json:"views"`
	Data  Data   `json:"data"`
	Items []Item `json:"items"`
}

// Data is what the characters table keeps as JSON text in its data column,
// a few KB per character; the handler decodes it on every read.
type Data struct {
	Title     string   `json:"title"`
	Race      string   `json:"race"`
	Class     string   `json:"class"`
	Level     int      `json:"level"`
	Alignment string   `json:"alignment"`
	Stats     Stats    `json:"stats"`
	Skills    []Skill  `json:"skills"`
	Bio       string   `json:"bio"`
	History   []Event  `json:"history"`
	Relations []string `json:"relations"`
	Tags      []string `json:"tags"`
}

// Stats are a character's numbers.
type Stats struct {
	Strength     int     `json:"strength"`
	Dexterity    int     `json:"dexterity"`
	Constitution int     `json:"constitution"`
	Intelligence int     `json:"intelligence"`
	Wisdom       int     `json:"wisdom"`
	Charisma     int     `json:"charisma"`
	HP           int     `json:"hp"`
	Mana         int     `json:"mana"`
	Speed        float64 `json:"speed"`
	Luck         float64 `json:"luck"`
}

// Skill is one of a character's skills.
type Skill struct {
	Name        string `json:"name"`
	Rank        int    `json:"rank"`
	Description string `json:"description"`
}

// Event is a line of a character's history.
type Event struct {
	Year  int    `json:"year"`
	Place string `json:"place"`
	Text  string `json:"text"`
}

// Item is a row of the character_items table: the character's inventory.
type Item struct {
	Slot    int    `json:"slot"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	WeightG int    `json:"weight_g"`
	Gold    int    `json:"gold"`
}

// Summary is an entry of GET /characters.
type Summary struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Views int64  `json:"views"`
}

var (
	firstNames = []string{"Aria", "Bram", "Cora", "Dain", "Elowen", "Fenris", "Gwyn", "Halvard", "Isolde", "Jory",
		"Kaelen", "Liora", "Magnus", "Nerys", "Orin", "Perrin", "Quill", "Rowan", "Sable", "Torvin",
		"Ulla", "Varek", "Wren", "Xander", "Yselle", "Zorah", "Alaric", "Brienne", "Cassius", "Delphine",
		"Eamon", "Fiora", "Garrick", "Hesper", "Ilya", "Jessamy", "Korrin", "Lysander", "Mirela", "Nolan"}
	epithets = []string{"Stormborn", "Ashwalker", "the Quiet", "Ironhand", "of the Vale", "Duskmantle", "Brightblade",
		"the Unbowed", "Frostwhisper", "Thornheart", "the Wanderer", "Emberfall", "Ravencrest", "Deepwater",
		"the Patient", "Goldleaf", "Hollowmere", "Stonebreaker", "the Last", "Windrider", "Nightbloom",
		"Silvertongue", "of the Marches", "Oakenshield", "the Bold"}
	races      = []string{"human", "elf", "dwarf", "halfling", "orc", "gnome", "tiefling", "dragonborn"}
	classes    = []string{"warrior", "ranger", "wizard", "cleric", "rogue", "bard", "paladin", "druid", "monk", "warlock"}
	alignments = []string{"lawful good", "neutral good", "chaotic good", "lawful neutral", "true neutral", "chaotic neutral", "lawful evil", "neutral evil", "chaotic evil"}
	titles     = []string{"Warden of the North Gate", "Keeper of Old Songs", "Captain of the Lantern Guard", "Envoy to the Salt Kings",
		"Scholar of the Ninth Library", "Hunter of the Grey Woods", "Master of Coin", "Shield of the Pilgrim Road"}
	places = []string{"Highmoor", "the Sunken Keep", "Varrowdale", "the Glass Desert", "Port Ember", "the Whispering Fen",
		"Kharak Dun", "the Amber Coast", "Ostwick", "the Shattered Isles", "Mirefield", "the Tower of Hours"}
	deeds = []string{"defended the bridge against raiders for three nights", "recovered a stolen reliquary from a smugglers' den",
		"lost a wager to a river spirit and paid it in songs", "mapped the caves beneath the old quarry",
		"brokered a truce between two feuding guilds", "survived a winter alone in the high passes",
		"was knighted after the siege and refused the land that came with it", "found a dragon's shed scale and sold it too cheaply",
		"trained a company of militia in the use of the longbow", "uncovered a plot against the harbour master",
		"carried a message across the burning plains", "spent a year apprenticed to a blind cartographer"}
	skillNames = []string{"swordplay", "archery", "lockpicking", "herbalism", "arcana", "persuasion", "stealth", "athletics",
		"history", "medicine", "survival", "performance", "insight", "intimidation", "sleight of hand", "navigation"}
	skillWords = []string{"steady", "practised", "instinctive", "reckless", "measured", "elegant", "brutal", "patient",
		"quick", "careful", "improvised", "disciplined"}
	traits = []string{"keeps every promise, however foolish", "distrusts anyone who smiles too much", "collects maps of places that no longer exist",
		"hums old marching songs when nervous", "cannot resist a game of chance", "writes long letters that are never sent",
		"feeds every stray animal in sight", "speaks softly and carries a very large axe", "is afraid of deep water",
		"knows the name of every star in the winter sky"}
	tagWords  = []string{"veteran", "merchant", "noble", "exile", "scholar", "mercenary", "pilgrim", "outlaw", "healer", "spy", "sailor", "hermit"}
	itemNames = map[string][]string{
		"weapon":     {"longsword", "short bow", "war axe", "quarterstaff", "dagger", "spear", "crossbow", "mace"},
		"armour":     {"leather jerkin", "chain shirt", "scale mail", "padded coat", "steel helm", "round shield"},
		"potion":     {"potion of healing", "elixir of focus", "draught of night-sight", "tonic of vigour"},
		"tool":       {"rope (50 ft)", "lantern", "thieves' tools", "cartographer's kit", "tinderbox", "grappling hook"},
		"trinket":    {"silver locket", "carved bone die", "pressed flower", "old coin", "glass eye", "tiny brass key"},
		"provisions": {"trail rations", "waterskin", "dried apples", "hard cheese", "salted fish"},
	}
	itemKinds = []string{"weapon", "armour", "potion", "tool", "trinket", "provisions"}
)

// seedCount is how many characters the database is seeded with.
const seedCount = 1000

// generate returns character id's name, data and items, the same on every
// run.
func generate(id int64) (string, Data, []Item) {
	r := rand.New(rand.NewPCG(uint64(id), 0x7265717072_6f66))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	name := pick(firstNames) + " " + pick(epithets)
	d := Data{
		Title:     pick(titles),
		Race:      pick(races),
		Class:     pick(classes),
		Level:     1 + r.IntN(20),
		Alignment: pick(alignments),
		Stats: Stats{
			Strength: 3 + r.IntN(16), Dexterity: 3 + r.IntN(16), Constitution: 3 + r.IntN(16),
			Intelligence: 3 + r.IntN(16), Wisdom: 3 + r.IntN(16), Charisma: 3 + r.IntN(16),
			HP: 10 + r.IntN(200), Mana: r.IntN(150),
			Speed: float64(20+r.IntN(20)) + float64(r.IntN(4))/4, Luck: float64(r.IntN(1000)) / 1000,
		},
	}
	for i := 0; i < 8; i++ {
		sk, w1 := pick(skillNames), pick(skillWords)
		d.Skills = append(d.Skills, Skill{
			Name: sk,
			Rank: 1 + r.IntN(10),
			Description: fmt.Sprintf("%s %s and %s approach to %s, learned in %s and honed in %s.",
				article(w1), w1, pick(skillWords), sk, pick(places), pick(places)),
		})
	}
	var bio strings.Builder
	fmt.Fprintf(&bio, "%s, a %s %s of %s, %s. ", name, d.Alignment, d.Race, pick(places), pick(traits))
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&bio, "In %s, %s %s; people there still say that %s %s. ",
			pick(places), firstWord(name), pick(deeds), firstWord(name), pick(traits))
	}
	d.Bio = strings.TrimSpace(bio.String())
	year := 1100 + r.IntN(200)
	for i := 0; i < 12; i++ {
		year += 1 + r.IntN(4)
		d.History = append(d.History, Event{Year: year, Place: pick(places), Text: firstWord(name) + " " + pick(deeds) + "."})
	}
	for i := 0; i < 4; i++ {
		d.Relations = append(d.Relations, fmt.Sprintf("%s %s (%s)", pick(firstNames), pick(epithets), pick([]string{"ally", "rival", "mentor", "sibling", "debtor", "old friend"})))
	}
	for i := 0; i < 3; i++ {
		d.Tags = append(d.Tags, pick(tagWords))
	}
	items := make([]Item, 4+r.IntN(9))
	for i := range items {
		kind := pick(itemKinds)
		items[i] = Item{Slot: i + 1, Name: pick(itemNames[kind]), Kind: kind, WeightG: 50 + r.IntN(5000), Gold: r.IntN(500)}
	}
	return name, d, items
}

// article returns the indefinite article for word.
func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "An"
	}
	return "A"
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}
