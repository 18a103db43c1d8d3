"""The assistant's lexicon: data, not code. Everything is written folded (lower case, no
accents, "ñ" as "n"), the way ``text.Speller.words`` leaves a message.

Tables are written as text: phrases separated by ``|`` or new lines; in ``INTENT_PHRASES``
each line opens with the weight that its phrases add to the intent's score. Phrase syntax:
words separated by spaces; ``word*`` matches any word that starts with ``word``; ``~``
matches up to three words in between. A negative weight takes points away ("mi numero" is
the patient giving their own number, not asking for the clinic's). To add a phrase, put it
on the line of its weight, run ``tests/assistant/nlu/test_quality.py`` and read the build
half's misses; never tune on the held-out half (docs/assistant.md, "Understanding").
"""

from __future__ import annotations

from .types import Intent


def _phrases(table: str) -> tuple[str, ...]:
    return tuple(p.strip() for line in table.splitlines() for p in line.split("|") if p.strip())


def _words(table: str) -> frozenset[str]:
    return frozenset(table.split())


def _weighted(table: str) -> dict[str, float]:
    phrases: dict[str, float] = {}
    for line in table.strip().splitlines():
        weight, _, rest = line.strip().partition(" ")
        phrases.update(dict.fromkeys(_phrases(rest), float(weight)))
    return phrases


INTENT_PHRASES: dict[Intent, dict[str, float]] = {
    Intent.GREETING: _weighted("""
1 hola | buenas | buenos dias | buen dia | buenas tardes | buenas noches | que tal
1 saludos | alo | hello | hi | hey | good morning | good afternoon | good evening
"""),
    Intent.HOURS: _weighted("""
3 horario* | hora* de atencion
2.5 atienden | abren | cierran | abierto* | hasta que hora | open* | hours
2 atiende | abre | cierra | closed | close
1.5 feriado*
1 a que hora abren | atencion | what time
"""),
    Intent.LOCATION: _weighted("""
3 direccion | ubicacion | ubicad* | ubican | como llego | como llegar | como ir
3 telefono* | address | located | location | directions
2.5 distrito | maps | mapa | phone*
2 donde quedan | donde queda | donde estan | referencia* | whatsapp | llamar* | calle
2 avenida | quedan | where
1.5 donde | donde esta | numero | tienen numero | celular | correo | email
1 llegar
1.5 call
1 number
-4 mi numero | mi telefono | mi celular | mi correo | my phone | my number | mi whatsapp
"""),
    Intent.PRICES: _weighted("""
3 precio* | cuanto ~ cuest* | cuanto ~ sale* | cuanto ~ cobr* | cuanto ~ vale*
3 cuanto ~ esta | a cuanto | costo* | tarifa* | servicio* | que tratamientos | how much
3 price* | cost* | services
2.5 cuanto es | a como
2 cuesta* | cobran | ofrecen
1.5 cuanto | tratamientos | hacen
-3 cuanto tiempo | cuanto dura | cuanto demora
"""),
    Intent.BOOK: _weighted("""
3 sacar ~ cita | book*
2.5 reserv* | agend* | separ*
2.5 me atienda*
2 programar | disponib* | cupo* | atender* | schedule
1.5 cita | turno | espacio | hacerme | quiero ir | puedo ir | tienes algo | tienen algo
1.5 appointment
1 citas | una cita | separ* ~ cita | quiero | quisiera | necesit* | deseo | me gustaria
1 hay citas | would like | want
"""),
    Intent.RESCHEDULE: _weighted("""
4.5 reprogram*
4 cambi* ~ cita | cambi* ~ turno | cambi* ~ reserva | mov* ~ cita
4 pasar ~ cita | postergar | posponer | postergo | adelantar ~ cita | reschedul*
4 change ~ appointment | move ~ appointment
3 cambi* ~ hora | cambi* ~ fecha
2.5 otro dia | otra hora | otra fecha
2 cambiar
1.5 cambio
"""),
    Intent.CANCEL: _weighted("""
4 cancel* | anul* | ya no ~ ir | desist* | ya no quiero ~ cita | elimin* ~ cita
3.5 no ~ poder ir | no ~ puedo ir | no podre ~ ir | no ~ asist* | ya no necesito
3.5 no voy a ir | borr* ~ cita | no ~ llegar
3 dar de baja
"""),
    Intent.MY_APPOINTMENTS: _weighted("""
4 cuando tengo ~ cita
3.5 mis citas | mi proxima cita
3 cuando ~ mi cita | cuando es mi | hora ~ mi cita | dia ~ mi cita | me toca
3 recuerd* ~ cita | con quien ~ cita | quede citad* | when is my | olvide ~ cita
2.5 tengo ~ cita
2 citado | citada | ver ~ citas | my appointment*
1.5 mi cita | pendiente*
"""),
    Intent.HUMAN: _weighted("""
4 humano | asesor* | operador* | human | representative
3 recepcion* | secretari* | agente
2.5 persona | pasame con | person
2 alguien | hablar con | comunica* | talk to | speak to | persona real
3 llegar* ~ tarde | llego ~ tarde | retras*
1.5 no entiendes
"""),
    Intent.THANKS: _weighted("""
2.5 gracias | thanks | thank you | agradec*
2 chau | adios | hasta luego | bye | nos vemos | hasta pronto
"""),
    Intent.CONFIRM: _weighted("""
3 confirm*
2.5 asistire | ahi estare | alli estare
"""),
    Intent.DENY: _weighted("""
2.5 ninguno | ninguna
1 ninguno me sirve | ninguna me sirve
"""),
}

# Slang, SMS spelling and Peruvian shortcuts ("short=long"), replaced word by word first.
SHORTHANDS: dict[str, str] = dict(
    pair.split("=")
    for pair in _phrases("""
q=que | k=que | ke=que | xq=porque | pq=porque | pa=para | pal=para el | tb=tambien
tmb=tambien | grax=gracias | grasias=gracias | grcs=gracias | thx=thanks | ty=thanks
ola=hola | dnd=donde | d=de | xfa=por favor | porfa=por favor | porfis=por favor
plis=por favor | pls=por favor | please=por favor | hr=hora | hrs=horas | kiero=quiero
qiero=quiero | sita=cita | sitas=citas | okey=ok | oki=ok | okay=ok | okk=ok | dr=doctor
dra=doctora | doc=doctor | tlf=telefono | telf=telefono | cel=celular | nro=numero
num=numero | wsp=whatsapp | wasap=whatsapp | whats=whatsapp | finde=fin de semana
maniana=manana | mñn=manana | mna=manana | sii=si | sip=si | sep=si | noo=no | nop=no
nope=no | nel=no | tmr=tomorrow | hoyy=hoy | xfavor=por favor
""")
)

# A yes or a no opens the message ("sí, confirmo") or is the whole of it.
YES_PHRASES = _phrases("""
si | ok | dale | de acuerdo | claro | correcto | confirmo | confirmado | perfecto | listo
ya | esta bien | bueno | va | vale | yes | yep | sure | afirmativo | por supuesto | exacto
me parece bien | genial | de una | ya pues | ya esta | excelente | claro que si | obvio
""")
NO_PHRASES = _phrases("""
no | mejor no | negativo | para nada | todavia no | aun no | ninguno | ninguna | no gracias
tampoco
""")
# A message that tries to steer the assistant is never a request it acts on.
INJECTION_PHRASES = _phrases("""
ignora* | ignore* | olvida ~ instruccion* | olvida ~ anterior | olvida todo | instruccion*
instruction* | prompt | system | sistema | otros pacientes | otro paciente | otra paciente
todos los pacientes | de los pacientes | lista de pacientes | base de datos | database
administrador | admin* | modo desarrollador | developer mode | jailbreak | ahora eres
eres ahora | actua como | finge | pretend | other patients | all patients | sql | contrasena
password | token*
""")
# Symptoms. A word here makes the message CLINICAL unless a negation shortly precedes it
# ("no me duele", "sin dolor").
CLINICAL_WORDS = _phrases("""
duel* | dolor* | molest* | sensib* | sangr* | hinch* | inflam* | absceso* | pus | infecc*
infectad* | fiebre | calentura | pastilla* | medicament* | medicina* | antibiotic*
ibuprofeno | paracetamol | amoxicilina | analgesic* | recet* | que tomo | llaga* | ulcera*
emergencia | hurt* | pain* | ache* | toothache | bleed* | swollen | swelling | fever
infection | se me cayo ~ curacion | se me cayo ~ resina | se me cayo ~ corona
se me cayo ~ calza | se me cayo ~ tapadura | se me cayo ~ diente | se me cayo ~ muela
se me rompio | se me partio | roto | rota | fractur* | broken | se me movio | se me mueve
floj*
""")
NEGATIONS = frozenset({"no", "sin", "nunca", "tampoco", "ni", "nada"})
CLINICAL_SOFTENERS = _phrases("""
disculpe la molestia | perdon la molestia | disculpa la molestia
""")
# URGENT: each rule is a set of word groups that must all appear (clinical.py).
SWELLING = _phrases("""
hinch* | inflam* | swollen | swelling
""")
FACE = _phrases("""
cara | cachete* | mejilla* | rostro | ojo | cuello | face | cheek | jaw | mandibula
quijada
""")
BLEEDING = _phrases("""
sangr* | bleed*
""")
NOT_STOPPING = _phrases("""
no para | no se detiene | no deja | no cesa | sin parar | mucho | bastante | abundante
demasiado | stop* | no se corta
""")
FEVER = _phrases("""
fiebre | calentura | fever
""")
PAIN = _phrases("""
duel* | dolor* | hinch* | inflam* | pain* | hurt* | ache*
""")
BLOW = _phrases("""
golpe* | me cai | cai | caida | accidente | choque | pelota | pelea | trauma* | hit | fell
""")
TOOTH_DAMAGE = _phrases("""
diente* | muela* | rompi* | roto | rota | parti* | quebr* | fractur* | salio | tooth | teeth
""")
BREATHING = _phrases("""
respirar | respiro | tragar | trago | breath* | swallow* | ahog*
""")

# Catalog words that mean the same procedure. Any catalog entry whose name (or own aliases)
# holds one of a group's words or phrases answers to every phrase of that group.
ALIAS_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    _phrases(line)
    for line in """
limpieza | profilaxis | destartraje | limpieza dental | sarro | cleaning
curacion | resina | obturacion | calza | tapadura | empaste | filling
extraccion | sacar muela | sacar diente | exodoncia | extraer | extraction
tercera molar | muela del juicio | cordal | wisdom tooth
blanqueamiento | aclaramiento | whitening | dientes blancos
ortodoncia | brackets | braquets | frenos | frenillos | braces | orthodontics
endodoncia | tratamiento de conducto | conducto | matar el nervio | root canal
corona | funda | crown
implante | implant
consulta | evaluacion | chequeo | revision | checkup | consultation | diagnostico
radiografia | rayos x | x ray | xray
protesis | dentadura | denture
carilla | carillas | veneer | veneers
""".strip().splitlines()
)


def _default_aliases() -> dict[str, tuple[str, ...]]:
    aliases: dict[str, tuple[str, ...]] = {}
    for group in ALIAS_GROUPS:
        for word in group:
            aliases[word] = tuple(other for other in group if other != word)
    return aliases


DEFAULT_ALIASES: dict[str, tuple[str, ...]] = _default_aliases()

# Words that never tell one procedure from another: dropped from every alias.
FUNCTION_WORDS = _words("""de del la las el los lo por para y en con una un al""")
# Words of a catalog NAME that say nothing of which procedure it is ("Implante dental" is
# found by "implante"); an alias phrase keeps them ("sacar diente").
GENERIC_CATALOG_WORDS = FUNCTION_WORDS | _words("""
dental dentales dientes diente simple tratamiento tratamientos sesion pieza adulto nino
ninos
""")

PROFESSIONAL_TITLES = frozenset(
    {
        "doctor",
        "doctora",
        "dr",
        "dra",
        "doc",
        "odontologo",
        "odontologa",
        "especialista",
        "licenciado",
        "licenciada",
        "lic",
        "con",
    }
)

# Everyday words that are neither typos of the lexicon nor anybody's name: the speller leaves
# them alone, and a name ends where one of them starts.
COMMON_WORDS = _words("""
a al algo alguna alguno ante aqui asi bien buen bueno cada casa como con cual cuales cuando
de del dia dias donde el ella ellos en entonces era es esa ese eso esta estan estar este
esto estoy fue gusta ha hay hijo hija hacer hola hora horas hoy la las le les lo los mal mama
mas me mi mis mismo mucho muy nada ni no nos nosotros o otra otro para pero poco por porque
pues que quien se sea ser si sin sobre solo son soy su sus tambien tan te tengo tiene tienen
todo todos tu tus un una uno unos usted ustedes va vamos ver vez y ya yo favor dental diente
dientes muela muelas boca encia encias clinica consultorio doctor doctora paciente nuevo nueva
semana mes ano manana tarde noche temprano mediodia fin proxima proximo siguiente que viene
opcion numero nombre llamo dni celular correo codigo gmail hotmail com mejor ok antes
despues entre hasta desde partir luego cerca lejos tiempo hace quiere puede podria seria
estaba tenia tener hora cosa caso tipo parte dame deme dar dado
the a an to my your you is are do i can for of on at in it me please what when how
llevar traer pagar tener venir volver salir decir saber poder querer dejar entrar esperar
mandar enviar pedir buscar ayudar estar llegue llegar sale salgo voy vas vamos ir irme
puedes pueden podemos quisiera necesita hijo hijos hija hijas mama papa esposa esposo nino
nina ninos senor senora senorita gente carro auto bus taxi pie afuera adentro aqui alla
here this that have with would like need good thing just about from they them
""")
