"""English vocabulary for the embedded sample pool: topics, names, places, all written for this project.

Why a data module: the grammar in ``sample_english`` stays readable, and the vocabulary can grow without
touching code. Nothing here is copied from a third-party word list or text.

Topic entries: ``tasks`` are verb phrases in base form whose first word is conjugated by the grammar;
``things`` and ``roles`` are singular nouns, written ``"singular/plural"`` where the plural is irregular.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One subject area: everything a page about it may mention."""

    name: str
    section: str
    things: tuple[str, ...]
    roles: tuple[str, ...]
    tasks: tuple[str, ...]
    adjectives: tuple[str, ...]
    places: tuple[str, ...]
    problems: tuple[str, ...]
    benefits: tuple[str, ...]
    groups: tuple[str, ...]


def _t(text: str) -> tuple[str, ...]:
    """Vocabulary lists are written one per line or separated by ``;`` to keep this file compact."""
    return tuple(item.strip() for item in text.replace("\n", ";").split(";") if item.strip())


TOPICS: tuple[Topic, ...] = (
    Topic(
        "gardening", "garden",
        _t("tomato plant; rose bush; compost heap; raised bed; seed tray; greenhouse; lawn; hedge; fruit tree;"
           "herb border; rain barrel; potato crop; polytunnel; cold frame"),
        _t("gardener; allotment holder; grower; volunteer; horticulturist; nursery owner"),
        _t("sow the seeds under cover; turn the compost heap every few weeks; prune the fruit trees in late winter;"
           "water the beds early in the morning; mulch the borders with leaf mould; divide the crowded perennials;"
           "net the cabbages against pigeons; test the soil before planting; feed the tomatoes once a week;"
           "lift the potatoes on a dry day; save seed from the strongest plants; plant garlic before the first frost"),
        _t("sheltered; waterlogged; sunny; clay-heavy; organic; overgrown; productive; frost-prone"),
        _t("the community allotments; the walled garden; the school vegetable plot; the village green;"
           "the riverside beds; the old orchard"),
        _t("slug damage; a late frost; poor drainage; potato blight; a dry spring; compacted soil"),
        _t("a bigger harvest; healthier soil; fewer pests; lower water bills; more pollinators; better flavour"),
        _t("Allotment Society; Garden Club; Horticultural Society; Seed Library"),
    ),
    Topic(
        "cycling", "cycling",
        _t("road bike; cargo bike; chain; brake pad; bike lane; helmet; pannier; inner tube; commuter route;"
           "derailleur; saddle; front light"),
        _t("cyclist; commuter; bike mechanic; courier; club rider; cycling instructor"),
        _t("check the tyre pressure before every ride; clean and oil the chain; adjust the brakes;"
           "plan a quieter route; fit brighter lights; carry a spare inner tube; ride in a lower gear on hills;"
           "lock the frame to a fixed stand; replace worn brake pads; learn to fix a puncture at the roadside"),
        _t("hilly; painted; protected; busy; lightweight; second-hand; electric; rain-soaked"),
        _t("the ring road; the canal towpath; the high street; the old railway path; the city centre;"
           "the long hill out of town"),
        _t("potholes; close passes by lorries; stolen bikes; a snapped chain; strong headwinds;"
           "a lack of secure parking"),
        _t("a shorter commute; better fitness; lower travel costs; cleaner air; quieter streets; a calmer morning"),
        _t("Cycling Club; Cycle Campaign; Wheelers; Bike Kitchen"),
    ),
    Topic(
        "cooking", "food",
        _t("cast iron pan; stock pot; lentil soup; spice rack; chopping board; weekly menu; slow cooker;"
           "vegetable stew; pantry shelf; kitchen knife; rice cooker; bean salad"),
        _t("home cook; chef; nutritionist; food writer; parent; cookery teacher"),
        _t("plan the week's meals on a Sunday; keep a jar of stock in the freezer; sharpen the knives regularly;"
           "roast the vegetables at a high heat; season the pan after washing it; cook a large batch of beans;"
           "taste the sauce before serving; buy spices in small amounts; chop the onions in advance;"
           "store leftovers in clear containers"),
        _t("crisp; hearty; seasonal; spicy; budget-friendly; one-pot; fragrant; homemade"),
        _t("the covered market; the school canteen; the community kitchen; the farm shop; the food bank;"
           "the corner cafe"),
        _t("food waste; rising grocery prices; bland cooking; a cramped kitchen; burnt garlic; soggy vegetables"),
        _t("cheaper weekly shopping; less food waste; more relaxed evenings; healthier lunches;"
           "better tasting meals; fewer takeaway orders"),
        _t("Cookery School; Supper Club; Food Partnership; Kitchen Collective"),
    ),
    Topic(
        "baking", "baking",
        _t("sourdough loaf; proving basket; oven thermometer; bread tin; rye starter; pastry case;"
           "baking stone; fruit cake; mixing bowl; cooling rack"),
        _t("baker; pastry chef; home baker; miller; bakery owner; apprentice"),
        _t("feed the starter the night before; weigh every ingredient; knead the dough for ten minutes;"
           "let the dough rest in a warm place; score the loaf before it goes in; preheat the oven properly;"
           "chill the pastry between steps; rotate the tray halfway through; cool the bread completely;"
           "keep flour in an airtight tin"),
        _t("crusty; dense; airy; golden; wholemeal; slightly sour; buttery; underbaked"),
        _t("the village bakery; the market stall; the church hall; the community oven; the farmers market;"
           "the old mill"),
        _t("a sluggish starter; an uneven oven; soggy bottoms; a collapsed sponge; sticky dough; stale flour"),
        _t("a better crumb; a crisper crust; fewer failed loaves; more consistent results; cheaper bread;"
           "happier neighbours"),
        _t("Bread Circle; Baking Club; Mill Trust; Bakers Guild"),
    ),
    Topic(
        "personal finance", "money",
        _t("household budget; savings account; pension; credit card; energy bill; emergency fund;"
           "spending diary; loan; mortgage; bank statement; subscription; payslip"),
        _t("saver; first-time buyer; pensioner; student; money adviser; small landlord"),
        _t("write down every purchase for a month; cancel unused subscriptions; build a small emergency fund;"
           "pay off the most expensive debt first; compare energy tariffs each year; set up a standing order;"
           "check the bank statement every week; plan for large bills in advance; read the small print;"
           "ask for a better rate when a deal ends"),
        _t("monthly; fixed; variable; hidden; affordable; overdue; realistic; tight"),
        _t("the advice centre; the credit union; the local library; the community hall; the citizens office;"
           "the job centre"),
        _t("rising rents; surprise charges; late payment fees; high interest rates; impulse spending;"
           "an unexpected repair bill"),
        _t("lower monthly costs; peace of mind; a healthier credit score; more room to save; fewer late fees;"
           "a clearer picture of spending"),
        _t("Credit Union; Money Advice Service; Savings Circle; Budget Forum"),
    ),
    Topic(
        "software", "tech",
        _t("test suite; code review; release branch; build server; database migration; log file; bug tracker;"
           "config file; deployment script; pull request; error message; command line tool"),
        _t("developer; maintainer; software engineer; tester; system administrator; product manager"),
        _t("write a failing test before fixing a bug; review each other's changes; keep the build green;"
           "read the error message carefully; pin the dependency versions; automate the release process;"
           "document the design decisions; back up the database before a migration; profile before optimising;"
           "split large changes into smaller ones"),
        _t("flaky; legacy; open source; readable; slow; well-tested; fragile; modular"),
        _t("the office; the shared workspace; the university lab; the meetup room; the open source project;"
           "the support desk"),
        _t("flaky tests; silent failures; a slow build; unclear requirements; missing documentation;"
           "merge conflicts"),
        _t("faster releases; fewer bugs in production; easier onboarding; calmer on-call weeks;"
           "clearer code; happier users"),
        _t("Developer Meetup; Coding Club; Software Guild; Hack Night"),
    ),
    Topic(
        "astronomy", "science",
        _t("telescope; star chart; meteor shower; eyepiece; observing log; dark sky site; tripod; red torch;"
           "planet; comet; binocular mount; camera adapter"),
        _t("stargazer; amateur astronomer; observatory guide; astrophotographer; science teacher; volunteer"),
        _t("let the eyes adapt to the dark; check the weather forecast first; align the finder scope in daylight;"
           "sketch what you see; start with the moon; keep a simple observing log; dress more warmly than you think;"
           "cool the telescope before using it; learn the brighter constellations; avoid looking at a phone screen"),
        _t("clear; cloudy; faint; bright; moonless; light-polluted; portable; old-fashioned"),
        _t("the hilltop car park; the observatory; the country park; the school field; the coast path;"
           "the moorland viewpoint"),
        _t("light pollution; dew on the lenses; cold fingers; shaky mounts; cloud cover; street lights"),
        _t("sharper views; more comfortable nights; better photographs; a deeper interest in science;"
           "darker skies; clearer sketches"),
        _t("Astronomical Society; Stargazing Club; Observatory Trust; Sky Watchers"),
    ),
    Topic(
        "birdwatching", "nature",
        _t("bird feeder; field guide; nest box; pair of binoculars/pairs of binoculars; bird bath; notebook;"
           "feeding station; camera trap; spotting scope; sound recorder"),
        _t("birdwatcher; ranger; ecologist; warden; wildlife photographer; recorder"),
        _t("clean the feeders regularly; put up nest boxes before spring; learn the common calls first;"
           "keep a daily list; walk slowly and stop often; record the weather with each sighting;"
           "plant native shrubs; visit the same spot every week; share sightings with the local group;"
           "keep cats indoors at dawn"),
        _t("rare; common; migrating; noisy; shy; colourful; resident; ground-nesting"),
        _t("the estuary; the nature reserve; the reed beds; the old quarry; the park lake; the woodland edge"),
        _t("habitat loss; disturbance from dogs; empty feeders; wet weather; new housing; fewer insects"),
        _t("more species in the garden; better records; healthier hedgerows; a calmer mind;"
           "new volunteers; fuller nest boxes"),
        _t("Bird Club; Wildlife Trust; Nature Network; Ringing Group"),
    ),
    Topic(
        "beekeeping", "nature",
        _t("hive; queen bee; honey super; smoker; bee suit; frame; swarm; colony; wax cap; feeding tray"),
        _t("beekeeper; apiarist; bee inspector; honey producer; mentor; beginner"),
        _t("inspect the hive every week in summer; light the smoker before opening the hive; add space before the colony needs it;"
           "check for signs of disease; feed the bees in autumn; mark the queen; keep notes on each colony;"
           "move slowly around the hive; clean the tools between hives; plant flowers that bloom late"),
        _t("calm; busy; weak; strong; defensive; healthy; overwintered; crowded"),
        _t("the apiary; the orchard; the rooftop garden; the meadow; the training site; the farm edge"),
        _t("mites; a wet summer; swarming; robbing wasps; a failing queen; a cold snap"),
        _t("more honey; stronger colonies; fewer swarms; better pollination; calmer bees; healthier hives"),
        _t("Beekeepers Association; Apiary Club; Honey Cooperative; Bee Group"),
    ),
    Topic(
        "public transport", "transport",
        _t("bus route; tram line; timetable; ticket machine; railway station; bus shelter; season ticket;"
           "night service; park and ride; journey planner"),
        _t("passenger; bus driver; commuter; transport planner; councillor; station manager"),
        _t("buy a season ticket; check the live times before leaving; plan a route with fewer changes;"
           "travel outside the rush hour; report broken ticket machines; keep a paper timetable as a backup;"
           "allow extra time on Sundays; book a seat on longer journeys; ask the driver for help;"
           "sign up for service alerts"),
        _t("crowded; late; reliable; frequent; cheap; overdue; accessible; rural"),
        _t("the bus station; the market square; the hospital stop; the university campus; the retail park;"
           "the new estate"),
        _t("cancelled services; fare rises; overcrowding; missing shelters; poor connections; roadworks"),
        _t("shorter journeys; cheaper fares; fewer cars in town; better connections; cleaner air;"
           "more reliable services"),
        _t("Transport Users Group; Rail Partnership; Bus Forum; Passenger Panel"),
    ),
    Topic(
        "woodworking", "diy",
        _t("workbench; chisel; hand plane; dovetail joint; oak board; table saw; sanding block; clamp;"
           "tool chest; bookshelf; wood glue; marking gauge"),
        _t("carpenter; woodworker; joiner; furniture maker; apprentice; hobbyist"),
        _t("sharpen the chisels before starting; measure twice and cut once; let the timber settle indoors;"
           "mark the waste side of each line; clamp the work firmly; sand with the grain;"
           "test the finish on an offcut; keep the workshop swept; wear ear protection;"
           "plane the edges square"),
        _t("straight; warped; reclaimed; sturdy; hand-cut; rough; smooth; seasoned"),
        _t("the garden shed; the community workshop; the timber yard; the college workshop; the garage;"
           "the old barn"),
        _t("blunt tools; tear-out; damp timber; gaps in the joints; splinters; a wobbly bench"),
        _t("tighter joints; safer work; a cleaner finish; longer lasting furniture; less waste;"
           "more confidence"),
        _t("Woodworkers Guild; Men's Shed; Craft Workshop; Makers Club"),
    ),
    Topic(
        "running", "sport",
        _t("running shoe; sports watch; foam roller; running vest; water bottle; head torch; training log;"
           "rain jacket; race belt; heart rate strap"),
        _t("runner; coach; physiotherapist; marathon runner; beginner; race organiser"),
        _t("build up the distance slowly; warm up before every session; run most miles at an easy pace;"
           "replace the shoes every few hundred miles; stretch after the long run; rest after a hard week;"
           "drink water before feeling thirsty; run with a group once a week; keep a training diary;"
           "practise the race route in advance"),
        _t("steady; hilly; muddy; gentle; fast; painful; flat; windy"),
        _t("the riverside path; the athletics track; the forest trail; the seafront; the park loop;"
           "the playing fields"),
        _t("shin splints; overtraining; blisters; a heavy cold; tight calves; icy paths"),
        _t("faster times; fewer injuries; better sleep; new friends; more energy; a stronger heart"),
        _t("Running Club; Harriers; Road Runners; Jogging Group"),
    ),
    Topic(
        "photography", "arts",
        _t("camera body; zoom lens; memory card; tripod; light meter; photo album; portrait; landscape shot;"
           "editing app; lens cap"),
        _t("photographer; picture editor; camera club member; student; wedding photographer; curator"),
        _t("shoot in the early morning light; check the horizon is level; carry a spare battery;"
           "back up the photos every evening; learn to read the histogram; get closer to the subject;"
           "clean the lens before a trip; take fewer but better pictures; print the best images;"
           "study the work of other photographers"),
        _t("grainy; sharp; blurred; overexposed; moody; candid; colourful; black and white"),
        _t("the harbour; the town hall gallery; the botanical garden; the old market; the pier;"
           "the railway viewpoint"),
        _t("camera shake; harsh midday light; a full memory card; lost files; dust on the sensor; flat colours"),
        _t("sharper pictures; more striking portraits; fewer lost files; better prints; a stronger portfolio;"
           "more confidence"),
        _t("Camera Club; Photography Society; Photo Collective; Darkroom Group"),
    ),
    Topic(
        "home energy", "home",
        _t("heat pump; solar panel; loft hatch; smart meter; boiler; draught excluder; radiator;"
           "hot water tank; double glazed window; thermostat"),
        _t("homeowner; tenant; energy adviser; installer; electrician; housing officer"),
        _t("bleed the radiators each autumn; lower the thermostat by one degree; seal the gaps around doors;"
           "insulate the loft properly; read the meter every month; service the boiler once a year;"
           "draw the curtains at dusk; dry the washing outdoors; fit reflective panels behind radiators;"
           "ask for a home energy survey"),
        _t("draughty; efficient; cold; damp; modern; old; well-insulated; expensive"),
        _t("the terraced streets; the new estate; the council flats; the village hall; the farmhouse;"
           "the student houses"),
        _t("damp walls; high energy bills; draughts; condensation; an ageing boiler; cold bedrooms"),
        _t("lower bills; a warmer home; less condensation; fewer repairs; smaller carbon emissions;"
           "better sleep"),
        _t("Energy Cooperative; Climate Action Group; Housing Association; Retrofit Network"),
    ),
    Topic(
        "schools", "education",
        _t("reading scheme; homework club; school library; lesson plan; parents evening; playground;"
           "science lab; timetable; school trip; report card"),
        _t("teacher; headteacher; teaching assistant; governor; parent; pupil"),
        _t("read with the children every evening; set a regular homework time; praise effort as well as results;"
           "talk to the teacher early; pack the school bag the night before; limit screens before bedtime;"
           "visit the library at weekends; practise times tables in the car; ask open questions about the day;"
           "encourage a hobby outside school"),
        _t("busy; small; rural; oversubscribed; friendly; noisy; well-run; underfunded"),
        _t("the primary school; the secondary school; the sixth form; the nursery; the school gates;"
           "the sports hall"),
        _t("staff shortages; large class sizes; falling budgets; long journeys; absent pupils;"
           "exam stress"),
        _t("better reading levels; happier pupils; stronger attendance; calmer mornings;"
           "closer links with parents; more confident learners"),
        _t("Parents Association; School Trust; Learning Partnership; Governors Board"),
    ),
    Topic(
        "libraries", "community",
        _t("library card; reading group; local history room; returns trolley; computer terminal;"
           "study desk; story time session; large print book; mobile library; book sale"),
        _t("librarian; reader; volunteer; archivist; library assistant; student"),
        _t("reserve books online; join a reading group; return the books on time; ask the librarian for suggestions;"
           "use the quiet study room; borrow audiobooks for long journeys; donate books in good condition;"
           "attend a free computer class; browse the local history shelves; bring the children to story time"),
        _t("quiet; busy; well-stocked; historic; modern; tiny; welcoming; cramped"),
        _t("the central library; the branch library; the reading room; the town archive; the village hall;"
           "the school library"),
        _t("shorter opening hours; budget cuts; damaged books; a leaking roof; a shortage of volunteers;"
           "slow computers"),
        _t("more visitors; better reading habits; stronger community ties; more free events;"
           "longer opening hours; wider choice"),
        _t("Friends of the Library; Reading Circle; Book Club; History Society"),
    ),
    Topic(
        "hiking", "outdoors",
        _t("walking boot; rucksack; trail map; compass; waterproof jacket; footpath; stile; water bottle;"
           "summit; first aid kit"),
        _t("walker; hiker; mountain guide; ranger; rambler; map reader"),
        _t("check the forecast before setting out; tell someone the planned route; carry a paper map;"
           "break in new boots slowly; pack an extra layer; start early in winter; follow the waymarks;"
           "close every gate behind you; take snacks for the whole day; turn back if the weather changes"),
        _t("steep; boggy; rocky; waymarked; remote; windswept; gentle; overgrown"),
        _t("the ridge path; the valley floor; the reservoir loop; the forest track; the coast path;"
           "the old drove road"),
        _t("sudden fog; blisters; eroded paths; missing signs; fading daylight; swollen streams"),
        _t("better fitness; safer walks; clearer heads; new routes; fewer rescues; stronger legs"),
        _t("Ramblers; Walking Group; Footpath Trust; Hill Walking Club"),
    ),
    Topic(
        "dog care", "pets",
        _t("dog lead; puppy; dog bed; training treat; vet appointment; dog walker; grooming brush;"
           "food bowl; rescue dog; agility course"),
        _t("dog owner; vet; dog trainer; groomer; rescue volunteer; breeder"),
        _t("walk the dog twice a day; reward calm behaviour; book a yearly health check; brush the coat every week;"
           "keep training sessions short; socialise the puppy early; measure the food carefully;"
           "check the paws after long walks; keep the lead short near roads; give the dog a quiet resting place"),
        _t("lively; nervous; elderly; friendly; stubborn; playful; well-trained; energetic"),
        _t("the dog park; the beach; the village common; the training hall; the rescue centre; the woods"),
        _t("pulling on the lead; separation anxiety; muddy paws; fleas; overfeeding; barking at night"),
        _t("a calmer dog; better manners; fewer vet bills; happier walks; a healthier weight; stronger trust"),
        _t("Dog Training Club; Animal Rescue; Canine Society; Pet Welfare Group"),
    ),
    Topic(
        "coffee", "food",
        _t("espresso machine; grinder; coffee bean; filter paper; milk jug; roastery; cafe; cold brew;"
           "tasting note; tamper"),
        _t("barista; roaster; cafe owner; coffee drinker; importer; trainer"),
        _t("grind the beans just before brewing; weigh the coffee and water; use fresh filtered water;"
           "clean the machine at the end of the day; store beans away from light; warm the cups first;"
           "try a different roast each month; keep a note of each recipe; descale the kettle regularly;"
           "buy smaller bags more often"),
        _t("bitter; smooth; fruity; dark; light; bright; stale; freshly roasted"),
        _t("the corner cafe; the roastery; the station kiosk; the market stall; the office kitchen;"
           "the bookshop cafe"),
        _t("stale beans; hard water; an uneven grind; burnt milk; a dirty machine; rising bean prices"),
        _t("better flavour; more consistent cups; lower costs; happier customers; less waste;"
           "a calmer morning routine"),
        _t("Coffee Collective; Roasters Guild; Cafe Network; Tasting Club"),
    ),
    Topic(
        "chess", "games",
        _t("chess board; opening; endgame; tournament; rating; club night; chess clock; puzzle book;"
           "pawn structure; knight"),
        _t("chess player; coach; club captain; arbiter; junior player; grandmaster"),
        _t("solve a few puzzles every day; review each game afterwards; learn one opening properly;"
           "play longer games more often; study basic endgames; write down the moves; keep an eye on the clock;"
           "play stronger opponents; look for checks and captures first; take a short walk between rounds"),
        _t("sharp; quiet; closed; open; tricky; drawn; winning; cramped"),
        _t("the club room; the pub back room; the school hall; the library; the community centre;"
           "the tournament hall"),
        _t("time trouble; careless blunders; nerves before a game; weak pawns; too much theory;"
           "late finishes"),
        _t("higher ratings; fewer blunders; better endgames; more confidence; new friends;"
           "calmer tournament play"),
        _t("Chess Club; Junior Chess League; Chess Circle; Chess Union"),
    ),
    Topic(
        "weather", "weather",
        _t("rain gauge; weather station; thermometer; storm warning; wind vane; flood barrier; forecast;"
           "cloud chart; barometer; snow plough"),
        _t("forecaster; farmer; weather watcher; flood warden; climate researcher; gritter driver"),
        _t("check the rain gauge at the same time each day; clear the drains before autumn;"
           "sign up for flood warnings; keep a weather diary; secure loose garden furniture;"
           "store sandbags somewhere dry; read the barometer each morning; compare the readings with neighbours;"
           "plan journeys around storm warnings; keep the gutters clear"),
        _t("wet; mild; stormy; freezing; humid; dry; changeable; record-breaking"),
        _t("the river valley; the coast road; the town centre; the hill farms; the flood plain;"
           "the seafront"),
        _t("flash floods; strong winds; frost damage; heat waves; blocked drains; icy roads"),
        _t("earlier warnings; safer roads; fewer flooded homes; better records; calmer nerves;"
           "more accurate forecasts"),
        _t("Flood Action Group; Weather Network; Climate Forum; Resilience Team"),
    ),
    Topic(
        "small business", "business",
        _t("shop front; stock room; loyalty card; till; online shop; delivery van; price list;"
           "business plan; market stall; supplier"),
        _t("shop owner; trader; customer; accountant; business adviser; shop assistant"),
        _t("talk to regular customers; keep the window display fresh; review the prices every quarter;"
           "track the stock weekly; answer emails within a day; thank customers for their reviews;"
           "plan for the quiet months; pay suppliers on time; train new staff carefully;"
           "try a small promotion before a big one"),
        _t("independent; family-run; struggling; busy; seasonal; new; profitable; tiny"),
        _t("the high street; the covered market; the retail park; the old arcade; the village shop;"
           "the station forecourt"),
        _t("rising rents; online competition; late deliveries; staff shortages; higher business rates;"
           "fewer shoppers"),
        _t("loyal customers; steadier income; lower costs; better reviews; more footfall;"
           "stronger local links"),
        _t("Traders Association; Business Network; Chamber of Commerce; Market Group"),
    ),
    Topic(
        "music", "arts",
        _t("piano; violin; choir; practice room; sheet music/sheet music; guitar; concert; music lesson; metronome;"
           "brass band"),
        _t("musician; music teacher; choir member; conductor; pupil; sound engineer"),
        _t("practise a little every day; tune the instrument before playing; record the practice sessions;"
           "learn the scales slowly; play with other people; listen to many different styles;"
           "warm up the voice gently; mark the tricky bars in pencil; perform for friends first;"
           "take a break when the hands get tired"),
        _t("lively; gentle; out of tune; loud; classical; folk; amateur; rousing"),
        _t("the church hall; the bandstand; the music school; the arts centre; the town square; the pub"),
        _t("stage fright; sore fingers; a noisy neighbour; missed rehearsals; an old instrument;"
           "a lack of rehearsal space"),
        _t("better timing; more confidence; fuller audiences; new members; a richer sound;"
           "stronger friendships"),
        _t("Choral Society; Brass Band; Music Centre; Folk Club"),
    ),
    Topic(
        "local history", "history",
        _t("parish record; old photograph; museum display; oral history; war memorial; map of the town/maps of the town;"
           "census entry; blue plaque; archive box; mill building"),
        _t("historian; archivist; museum volunteer; researcher; curator; resident"),
        _t("record interviews with older residents; label every photograph; check the census records;"
           "visit the county archive; transcribe the old letters; photograph the buildings before they change;"
           "share findings with the local paper; ask families for their old documents;"
           "walk the old boundaries; date each map carefully"),
        _t("forgotten; Victorian; ruined; restored; medieval; industrial; listed; crumbling"),
        _t("the old mill; the market cross; the town museum; the churchyard; the canal basin;"
           "the railway station"),
        _t("lost records; damp archives; faded photographs; fading memories; demolished buildings;"
           "missing funding"),
        _t("a richer local story; new exhibitions; stronger community pride; more visitors;"
           "better preserved records; new volunteers"),
        _t("History Society; Heritage Trust; Museum Friends; Archive Group"),
    ),
    Topic(
        "sleep and health", "health",
        _t("bedtime routine; mattress; sleep diary; alarm clock; evening walk; blackout blind;"
           "caffeine habit; afternoon nap; bedroom; reading lamp"),
        _t("shift worker; sleep researcher; doctor; nurse; new parent; student"),
        _t("go to bed at the same time each night; keep the bedroom cool; avoid coffee after lunch;"
           "get some daylight in the morning; put the phone in another room; keep a sleep diary for two weeks;"
           "take a short walk after dinner; read a paper book before bed; keep naps short;"
           "talk to a doctor about persistent problems"),
        _t("restless; deep; broken; refreshing; late; noisy; dark; regular"),
        _t("the health centre; the sleep clinic; the hospital ward; the university campus; the night shift;"
           "the family home"),
        _t("late screens; noisy streets; shift patterns; worry; too much caffeine; an uncomfortable bed"),
        _t("better concentration; more energy; a steadier mood; fewer headaches; deeper sleep;"
           "easier mornings"),
        _t("Health Forum; Wellbeing Network; Patient Group; Sleep Support Circle"),
    ),
    Topic(
        "camping", "outdoors",
        _t("tent; sleeping bag; camp stove; ground sheet; campsite; head torch; cool box; camping chair;"
           "tarp; tent peg"),
        _t("camper; campsite owner; scout leader; ranger; family; first-timer"),
        _t("practise pitching the tent at home; pack the heavy items low; check the pegs before leaving;"
           "pitch the tent away from water; carry a spare torch battery; store food in sealed boxes;"
           "leave the site as you found it; dry the tent before storing it; bring a warm hat for the night;"
           "arrive before dark"),
        _t("quiet; crowded; muddy; remote; family-friendly; windy; sheltered; basic"),
        _t("the lakeside field; the forest campsite; the farm meadow; the beach dunes; the hill camp;"
           "the scout camp"),
        _t("leaking tents; cold nights; midges; broken poles; noisy neighbours; flooded pitches"),
        _t("warmer nights; drier gear; happier children; cheaper holidays; fewer arguments;"
           "better sleep outdoors"),
        _t("Scout Group; Camping Club; Outdoor Centre; Youth Hostel Trust"),
    ),
    Topic(
        "recycling", "environment",
        _t("recycling bin; compost caddy; glass bank; repair cafe; swap shop; refill station;"
           "collection day; sorting guide; bottle bank; reuse centre"),
        _t("resident; council officer; volunteer; repair expert; waste collector; shop owner"),
        _t("rinse the containers before recycling; flatten the cardboard; check the local sorting guide;"
           "take small electricals to the reuse centre; repair before replacing; carry a refillable bottle;"
           "compost the food scraps; buy loose vegetables; donate clothes in good condition;"
           "put the bins out the night before"),
        _t("contaminated; reusable; plastic-free; overflowing; local; second-hand; bulky; repairable"),
        _t("the repair cafe; the recycling centre; the market hall; the school car park; the high street;"
           "the community garden"),
        _t("contaminated bins; missed collections; fly-tipping; confusing rules; single-use plastic;"
           "overflowing bins"),
        _t("less landfill; cleaner streets; lower council costs; repaired belongings; new skills;"
           "fewer missed collections"),
        _t("Repair Cafe; Zero Waste Group; Recycling Partnership; Swap Shop Collective"),
    ),
)

FIRST_NAMES = _t(
    "Anna; Ben; Carla; Daniel; Eleanor; Farid; Grace; Hassan; Isla; James; Kavita; Liam; Maria; Nathan;"
    "Olivia; Patrick; Rachel; Samuel; Tanya; Umar; Victoria; William; Yasmin; Zoe; Aiden; Beatrice; Callum;"
    "Deborah; Ethan; Fiona; George; Hannah; Ivan; Julia; Kieran; Laura; Martin; Nadia; Oscar; Priya; Quentin;"
    "Rosa; Simon; Teresa; Usha; Vincent; Wendy; Xavier; Yusuf; Amelia; Bruno; Chloe; Dev; Emma; Felix;"
    "Gemma; Harry; Imogen; Joel; Keira; Leo; Megan; Niall; Orla; Peter; Ruth; Sean; Tom; Vera; Will"
)
LAST_NAMES = _t(
    "Abbott; Bennett; Carter; Dawson; Ellis; Fletcher; Gordon; Hughes; Iqbal; Jenkins; Kaur; Lawson;"
    "Mitchell; Norris; Owens; Patel; Quinn; Reynolds; Sharma; Turner; Underwood; Vaughan; Walsh; Young;"
    "Ahmed; Baxter; Chapman; Doyle; Evans; Foster; Griffiths; Harper; Irwin; Jordan; Kerr; Lloyd;"
    "Marsh; Nolan; Osborne; Parry; Rahman; Sutton; Thornton; Usman; Webb; Yates; Barker; Collins;"
    "Dunn; Fox; Gill; Hale; Kelly; Lowe; Moss; Nash; Pearce; Reid; Shaw; Tait; Ward; Wilde; Cole; Brennan"
)
TOWN_HEADS = _t(
    "Ash; Birch; Brook; Castle; Clay; Cold; Elm; Fair; Fern; Glen; Green; Hazel; High; Holly; King;"
    "Lark; Long; Maple; Marsh; Mill; Moor; Nether; Oak; Pen; Red; Rose; Salt; Stone; Thorn; West; Wil; Wood"
)
TOWN_TAILS = _t("bridge; brook; bury; by; caster; combe; dale; field; ford; ham; hurst; ley; mere; mouth; stead; ton; wick; worth")
SITE_WORDS = _t(
    "daily; notes; journal; weekly; guide; post; gazette; times; herald; corner; digest; review; chronicle;"
    "ledger; bulletin; courier; observer; matters; life; online"
)
TLDS = _t("com; org; net; co.uk; info; org.uk; blog; news")
BRAND_SYLLABLES = _t("vel; tra; nor; lund; quil; by; ar; ko; mira; sen; dal; tor; fen; ix; lo; ma; ren; ta; zo; bri")
MONTHS = _t("January; February; March; April; May; June; July; August; September; October; November; December")
WEEKDAYS = _t("Monday; Tuesday; Wednesday; Thursday; Friday; Saturday; Sunday")
NUMBER_WORDS = _t("two; three; four; five; six; seven; eight; nine; ten; twelve")
DURATIONS = _t(
    "two weeks; three weeks; a month; six weeks; two months; three months; half a year; a year;"
    "eighteen months; two years; three years; five years; a decade"
)
PERIODS = _t("week; month; season; year")
