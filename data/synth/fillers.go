package synth

// Filler word lists of the prompt templates.

var firstNames = []string{
	"Alice", "Bob", "Priya", "Mateo", "Chen", "Fatima", "Olga", "Kwame",
	"Hiroshi", "Sofia", "Liam", "Amara", "Diego", "Ingrid", "Ravi", "Noah",
	"Yusuf", "Elena", "Zara", "Mei", "Jonas", "Aisha", "Lucas", "Nadia",
	"Tomas", "Grace", "Omar", "Hannah", "Kenji", "Lena", "Samuel", "Leila",
}

var surnames = []string{
	"Okafor", "Lindqvist", "Moreau", "Tanaka", "Haddad", "Novak", "Fischer",
	"Mensah", "Costa", "Ivanova", "Brennan", "Kowalski", "Rahman", "Silva",
	"Nakamura", "Oduya", "Petrov", "Walsh", "Gupta", "Herrera",
}

var countables = []string{
	"apples", "notebooks", "concert tickets", "bricks", "cupcakes", "marbles",
	"stamps", "bottles of juice", "tomato seedlings", "bus passes", "pencils",
	"jars of honey", "paperback books", "light bulbs", "bags of rice",
	"postcards", "flower pots", "chocolate bars", "tennis balls", "candles",
}

var shops = []string{
	"bakery", "library", "warehouse", "school fair", "farmers' market",
	"bookshop", "garden centre", "hardware store", "charity shop", "cinema",
	"corner shop", "stationery store",
}

var cities = []string{
	"Lisbon", "Nairobi", "Osaka", "Toronto", "Krakow", "Lyon", "Melbourne",
	"Porto", "Bergen", "Austin", "Cork", "Valparaiso", "Tbilisi", "Leeds",
	"Dunedin", "Ghent", "Seville", "Halifax", "Tampere", "Pune",
}

var countries = []string{
	"France", "Kenya", "Japan", "Canada", "Poland", "Brazil", "Australia",
	"Norway", "Egypt", "Mexico", "Vietnam", "Chile", "Ghana", "Portugal",
	"India", "Sweden", "Argentina", "Morocco", "Ireland", "New Zealand",
	"Peru", "Finland", "Thailand", "Turkey", "Greece", "Indonesia",
	"Colombia", "Hungary", "Nigeria", "South Korea",
}

var jurisdictions = []string{
	"England and Wales", "California", "Ontario", "New South Wales",
	"Germany", "France", "New York", "Scotland", "the Netherlands",
	"Texas", "Ireland", "Singapore",
}

var weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

var months = []string{
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
}

var programmingLanguages = []string{
	"Python", "Go", "JavaScript", "Rust", "Java", "C++", "TypeScript", "C#",
	"Kotlin", "Ruby",
}

var easyCodeTasks = []string{
	"reverses a string",
	"returns the largest of three numbers",
	"counts the vowels in a string",
	"checks whether a number is even",
	"converts a temperature from Celsius to Fahrenheit",
	"returns the sum of a list of integers",
	"checks whether a string is a palindrome",
	"computes the factorial of n",
	"removes duplicates from a list while keeping the original order",
	"finds the second largest number in a list",
	"counts how many times each word appears in a sentence",
	"returns the n-th Fibonacci number",
	"checks whether a year is a leap year",
	"merges two sorted lists into one sorted list",
	"capitalises the first letter of every word in a sentence",
	"returns the average of a list of numbers",
	"finds the index of the smallest element in an array",
	"converts a number of seconds into hours, minutes and seconds",
	"checks whether two strings are anagrams",
	"flattens a list of lists into a single list",
}

var hardCodeTasks = []string{
	"an LRU cache with O(1) get and put",
	"Dijkstra's shortest path algorithm on a weighted directed graph",
	"a trie that supports insertion, prefix search and deletion",
	"an interval tree that reports all intervals overlapping a query",
	"a rate limiter based on the token bucket algorithm",
	"a function that finds the longest increasing subsequence of an array",
	"a parser and evaluator for arithmetic expressions with +, -, *, / and parentheses",
	"a bounded blocking queue for producer and consumer threads",
	"a data structure that returns the running median of a stream of numbers",
	"topological sorting of a dependency graph with cycle detection",
	"a consistent hashing ring with virtual nodes",
	"sparse matrix multiplication for matrices stored in CSR format",
	"the A* search algorithm on a grid with obstacles",
	"a union-find structure with path compression and union by rank",
	"an external merge sort for files larger than memory",
	"a skip list with insert, delete and range queries",
	"a function that merges overlapping intervals",
	"a minimal regular expression matcher supporting '.', '*' and '?'",
}

var codeEdgeCases = []string{
	"empty input", "duplicate keys", "negative numbers", "very large inputs",
	"Unicode strings", "integer overflow", "null or missing values",
	"concurrent access", "cycles in the graph", "unsorted input",
	"a single element", "all elements equal",
}

var books = []string{
	"Pride and Prejudice", "One Hundred Years of Solitude", "Things Fall Apart",
	"The Brothers Karamazov", "Don Quixote", "Moby-Dick", "Frankenstein",
	"The Tale of Genji", "Middlemarch", "The Trial", "Beloved",
	"The Master and Margarita", "Wuthering Heights", "The Old Man and the Sea",
	"Crime and Punishment", "Mrs Dalloway", "The Little Prince", "Invisible Cities",
}

var elements = []string{
	"gold", "silver", "iron", "sodium", "potassium", "tin", "lead", "mercury",
	"copper", "tungsten", "helium", "neon", "calcium", "zinc", "uranium",
}

var historicalEvents = []string{
	"the Berlin Wall fall", "the first crewed Moon landing take place",
	"the First World War begin", "the Titanic sink", "the French Revolution begin",
	"the Magna Carta get sealed", "India gain independence",
	"the Suez Canal open", "the Chernobyl disaster happen",
	"the first modern Olympic Games take place", "the Wright brothers first fly",
	"the Treaty of Versailles get signed",
}

var paintings = []string{
	"The Starry Night", "Girl with a Pearl Earring", "The Night Watch",
	"The Persistence of Memory", "Las Meninas", "The Birth of Venus",
	"The Great Wave off Kanagawa", "Guernica", "The Garden of Earthly Delights",
}

var continents = []string{"Africa", "Asia", "Europe", "South America", "North America", "Australia"}

var historyTopics = []string{
	"the collapse of the Bronze Age civilisations", "the Protestant Reformation",
	"the Meiji Restoration", "the Industrial Revolution in Britain",
	"the fall of the Western Roman Empire", "the Haitian Revolution",
	"the partition of India", "the Thirty Years' War", "the Irish Famine",
	"the Russian Revolution of 1917", "the decolonisation of Africa",
	"the Opium Wars", "the Great Depression", "the Cuban Missile Crisis",
}

var technologies = []string{
	"the printing press", "the steam engine", "the telegraph", "radar",
	"the transistor", "GPS", "the polio vaccine", "public-key cryptography",
	"the World Wide Web", "lithium-ion batteries", "CRISPR gene editing",
	"the jet engine",
}

var obscureTopics = []string{
	"the coinage of the Kingdom of Aksum", "the Hanseatic League's Baltic trade routes",
	"the Great Emu War of 1932", "the Carrington Event of 1859",
	"the Tunguska event", "the Library of Ashurbanipal", "the Taiping Rebellion",
	"the Mali Empire under Mansa Musa", "the Year Without a Summer of 1816",
	"the Peace of Westphalia", "the Voynich manuscript", "the Khmer hydraulic network at Angkor",
	"the Antikythera mechanism", "the Dancing Plague of 1518",
}

var historyAspects = []string{
	"economic causes", "military strategy", "religious motives",
	"long-term political consequences", "the role of technology",
	"public opinion at the time", "the treatment of civilians",
	"the role of trade", "historiographical debates",
}

var poemTopics = []string{
	"the sea at night", "a forgotten lighthouse", "autumn in a big city",
	"a robot learning to paint", "the last day of summer", "a cat who runs a bookshop",
	"friendship", "a train journey through the mountains", "rain on a tin roof",
	"a grandmother's recipe", "moving to a new country", "the first snow",
	"a lost umbrella", "a dragon who is afraid of fire", "an empty playground",
	"the smell of coffee", "a night shift at a hospital", "old photographs",
}

var characters = []string{
	"a retired astronaut", "a shy baker", "a detective who cannot smell",
	"a ten-year-old inventor", "an old fisherman", "a librarian on Mars",
	"a street musician", "a nervous ghost", "a lighthouse keeper",
	"a tired delivery driver", "a chess prodigy", "a beekeeper",
}

var situations = []string{
	"finds a letter addressed to the future", "wakes up speaking a forgotten language",
	"must deliver a package before midnight", "discovers a door that was not there yesterday",
	"loses their memory every Sunday", "inherits a clock that runs backwards",
	"is the only person who can hear the city's bells", "receives a phone call from themselves",
	"finds a map hidden in a library book", "has to win back a stolen recipe",
}

var genres = []string{"science fiction", "mystery", "fantasy", "comedic", "gothic", "historical"}

var poeticForms = []string{"sonnet", "villanelle", "ballad", "ode", "sestina", "ghazal"}

var tones = []string{"melancholic", "hopeful", "ironic", "playful", "solemn", "nostalgic"}

var easyTargetLanguages = []string{"Spanish", "French", "German", "Italian", "Portuguese", "Dutch"}

var hardTargetLanguages = []string{
	"Japanese", "Korean", "Finnish", "Hungarian", "Icelandic", "Swahili",
	"Tagalog", "Welsh", "Basque", "Georgian", "Amharic", "Vietnamese",
}

var shortPhrases = []string{
	"Good morning", "Where is the train station?", "Thank you very much",
	"How much does this cost?", "I would like a cup of tea", "See you tomorrow",
	"My name is %s", "Can you help me?", "The weather is nice today",
	"I am lost", "Happy birthday, %s!", "Where is the nearest pharmacy?",
	"I do not understand", "What time is it?", "Nice to meet you, %s",
}

var ailments = []string{
	"headache", "sore throat", "cold", "sunburn", "cough", "sprained ankle",
	"heartburn", "insect bite", "back pain", "blocked nose",
}

var otcDrugs = []string{"ibuprofen", "paracetamol", "aspirin", "an antihistamine", "a decongestant"}

var drinks = []string{"coffee", "alcohol", "grapefruit juice", "milk", "green tea"}

var conditions = []string{
	"type 2 diabetes", "high blood pressure", "asthma", "hypothyroidism",
	"atrial fibrillation", "chronic kidney disease", "migraine", "epilepsy",
}

var medications = []string{
	"metformin", "lisinopril", "warfarin", "levothyroxine", "amlodipine",
	"sertraline", "atorvastatin", "omeprazole", "salbutamol", "lamotrigine",
}

var contracts = []string{
	"non-compete clause", "residential lease", "freelance services agreement",
	"software licence", "loan agreement between friends", "employment contract",
	"non-disclosure agreement", "commercial lease",
}

var contractFacts = []string{
	"one party was 17 years old at signing",
	"the contract was agreed only by e-mail",
	"the price was never fixed in writing",
	"a key clause was added after one party signed",
	"the other party relied on a false statement about revenue",
	"the restriction lasts five years and covers the whole country",
	"the agreement was signed under time pressure without legal advice",
	"the performance became impossible after a new regulation",
	"payments were made in cash without receipts",
	"the governing-law clause points to a different country",
}
