"""Decisions and action items read from the lines where a meeting took them: each request, promise and
task given by name with the owner the speakers gave it, each settled point once, and nothing from small
talk, questions, stories, opinions or the running of the meeting."""

from reflector.pipelines.outcomes import find_outcomes

MEETING = [
    ("Ana", "Morning. Let's keep this short. Two things: the team offsite and the support rota."),
    ("Ben", "The offsite venue in Porto costs eight thousand euros for three days."),
    ("Ana", "Should we move the offsite to October, when flights are cheaper?"),
    ("Carla", "Yes, let's do that."),
    ("Ben", "Could we also invite the contractors?"),
    ("Carla", "I would rather not, it doubles the cost."),
    ("Ana", "Fine. No contractors at the offsite this year. Ben, please book the flights for everyone by Friday."),
    ("Ben", "Sure, I will book them tomorrow morning."),
    ("Carla", "Last year we had agreed to rotate support every week, and it took us a month to decide that."),
    ("Ana", "Right. We will switch the support rota to two weeks per person from now on."),
    ("Carla", "Dev will update the rota page; he wrote the old one."),
    ("Dev", "I will update it after lunch."),
    ("Ana", "Snacks for the rota room?"),
    ("Ben", "Keep them. Two hundred euros a month for snacks."),
    ("Carla", "Agreed, the snack budget is the least of our problems."),
    ("Ana", "Ben, what would you change in the rota?"),
    ("Ben", "No, it is fine as it is. I would like Carla to check the on-call numbers though."),
    ("Ana", "Somebody has to tell the landlord that we are leaving the old office."),
    ("Carla", "Who books the train tickets?"),
    ("Ana", "Carla, can you tell us how the last offsite went?"),
    ("Carla", "We try hard to keep it cheap. I will be honest, it rained the whole time."),
    ("Ana", "Thanks, everyone, see you next week."),
]
PEOPLE = ["Ana", "Ben", "Carla", "Dev"]


def _tasks() -> list[tuple[str, str | None, str | None]]:
    return [(o.text, o.owner, o.due) for o in find_outcomes(MEETING, PEOPLE) if o.kind == "task"]


def _decisions() -> list[str]:
    return [o.text for o in find_outcomes(MEETING, PEOPLE) if o.kind == "decision"]


def test_tasks_have_the_owner_the_meeting_gave_them() -> None:
    assert _tasks() == [
        # Asked by name and taken on: the answer's date is the due date.
        ("Book the flights for everyone", "Ben", "tomorrow morning"),
        # Given by name, then confirmed by its owner ("I will update it ..."): one task.
        ("Update the rota page", "Dev", None),
        ("Check the on-call numbers though", "Carla", None),
        # Nobody has it yet.
        ("Tell the landlord that we are leaving the old office", None, None),
        ("Book the train tickets", None, None),
    ]


def test_decisions_are_what_the_group_settled() -> None:
    assert _decisions() == [
        "Move the offsite to October, when flights are cheaper",  # proposed, then accepted
        "No contractors at the offsite this year",  # a refusal stated as the rule
        "We will switch the support rota to two weeks per person from now on",
        "Keep them. Two hundred euros a month for snacks",  # "Keep them." settles the sentence after it
    ]


def test_every_outcome_keeps_the_lines_it_was_read_from() -> None:
    flights = next(o for o in find_outcomes(MEETING, PEOPLE) if o.text.startswith("Book the flights"))
    assert flights.evidence == (
        "Ana: Ben, please book the flights for everyone by Friday.\nBen: Sure, I will book them tomorrow morning."
    )
    assert flights.line == 6


def test_small_talk_and_a_lecture_have_no_outcomes() -> None:
    chat = [
        ("Zoe", "So how was the hike?"),
        ("Omar", "Brilliant, but brutal. We did the ridge trail in the rain."),
        ("Zoe", "No, really? I would have turned around."),
        ("Grace", "Either way, the lemon tart episode was the best one so far."),
        ("Zoe", "Agreed. That tart looked unreal."),
        ("Omar", "No, that was the funny part."),
        ("Zoe", "Anyway, I have to run. It was lovely to catch up."),
    ]
    assert find_outcomes(chat, ["Zoe", "Omar", "Grace"]) == []
    interview = [
        ("Hannah", "No need to be nervous. Could you start by telling me about your current role?"),
        ("Luis", "Sure. At one point we had agreed to twelve status meetings a week, which was far too many."),
        ("Hannah", "Let me tell you a bit about us. We try hard to fix the causes of pages."),
        ("Luis", "Good. I can never sleep through a page anyway, and I will not pretend I enjoy night shifts."),
        ("Luis", "Likewise, thank you for your time."),
    ]
    assert find_outcomes(interview, ["Hannah", "Luis"]) == []
    lecture = [("Speaker 1", "Now we make it more interesting. So please be very quiet. Let me show you.")]
    assert find_outcomes(lecture, ["Speaker 1"]) == []


def test_a_task_nobody_had_goes_to_who_takes_it_on() -> None:
    lines = [
        ("Priya", "Okay, can everyone hear me? Great. Let's get started."),
        ("Marco", "Before we start, I'll share my screen so you can see the numbers."),
        ("Priya", "Sam, could you get two quotes by the end of next week?"),
        ("Sam", "Yeah, I'll reach out to them tomorrow."),
        ("Marco", "Okay. Then I need to order new desks. I'll do that this week."),
        ("Sam", "Let me know if you need help with that."),
        ("Priya", "The onboarding docs are out of date. Someone should rewrite them before the new hires start."),
        ("Marco", "I can take that on, but not until April."),
        ("Sam", "Yes, that has to happen soon."),
    ]
    found = [(o.kind, o.text, o.owner, o.due) for o in find_outcomes(lines, ["Priya", "Marco", "Sam"])]
    assert found == [
        ("task", "Get two quotes", "Sam", "tomorrow"),
        ("task", "Order new desks", "Marco", "this week"),  # "I'll do that this week": the same task
        ("task", "Rewrite them before the new hires start", "Marco", "until April"),
    ]


def test_an_unnamed_voice_that_answered_to_a_name_owns_its_tasks_under_it() -> None:
    lines = [
        ("Dana", "Evan, can you send the updated plan to finance by Friday?"),
        ("Speaker 2", "I will send it on Thursday."),
        ("Speaker 3", "I will book the room for the review."),
        ("Speaker 2", "And I will cancel the survey subscription myself."),
    ]
    found = find_outcomes(lines, ["Dana", "Evan", "Speaker 2", "Speaker 3"], unnamed=["Speaker 2", "Speaker 3"])
    assert [(o.text, o.owner) for o in found] == [
        ("Send the updated plan to finance", "Evan"),
        ("Book the room for the review", "Speaker 3"),  # answered to no name: stays a voice
        ("Cancel the survey subscription myself", "Evan"),
    ]
    # Two voices that answered to one name: neither is known by it.
    lines += [("Dana", "Evan, please check the totals."), ("Speaker 3", "Sure, I can check them tonight.")]
    owners = [o.owner for o in find_outcomes(lines, ["Dana", "Evan"], unnamed=["Speaker 2", "Speaker 3"])]
    assert owners == ["Evan", "Speaker 3", "Speaker 2", "Evan"]


def test_everyday_ways_of_taking_a_task_or_settling_a_point() -> None:
    lines = [
        ("Ana", "The venue in Porto it is, then."),
        ("Ben", "I'm happy to book the flights for everyone."),
        ("Carla", "Who's going to call the caterer about the vegetarian options?"),
        ("Ben", "Leave that with me."),
        ("Ana", "We've decided to keep the budget at eight thousand."),
        ("Carla", "Before that, let me ask you something about the dates."),
    ]
    found = [(o.kind, o.text, o.owner) for o in find_outcomes(lines, ["Ana", "Ben", "Carla"])]
    assert found == [
        ("decision", "The venue in Porto it is, then", None),
        ("task", "Book the flights for everyone", "Ben"),
        ("task", "Call the caterer about the vegetarian options", "Ben"),
        ("decision", "We've decided to keep the budget at eight thousand", None),
    ]  # "let me ask you ..." is asked in the meeting, not a task after it


def test_the_name_asked_is_the_one_just_before_the_request() -> None:
    # "Nice" opens the sentence the way a name would; the request is Hanna's.
    lines = [
        ("Lucia", "Nice, go for it, Hanna, could you put the display up on Sunday?"),
        ("Hanna", "Sure. I'll need some coloured paper, though."),
    ]
    found = [(o.text, o.owner, o.due) for o in find_outcomes(lines, ["Lucia", "Hanna", "Nice"])]
    assert found == [("Put the display up", "Hanna", "on Sunday")]  # "I'll need ..." is no task


def test_a_refusal_neither_accepts_nor_takes_a_task_on() -> None:
    asked = [
        ("Ana", "Ben, can you book the flights by Friday?"),
        ("Ben", "I can not do it before Monday, sorry."),
    ]
    # Still asked of Ben, but the refusal's date is not the task's.
    assert [(o.text, o.owner, o.due) for o in find_outcomes(asked, ["Ana", "Ben"])] == [
        ("Book the flights", "Ben", "by Friday")
    ]
    nobody = [
        ("Ana", "Somebody has to tell the landlord we are leaving."),
        ("Ben", "I can never reach him, to be honest."),
    ]
    assert [(o.text, o.owner) for o in find_outcomes(nobody, ["Ana", "Ben"])] == [
        ("Tell the landlord we are leaving", None)
    ]


def test_asked_when_is_asked_for_the_work_and_a_date() -> None:
    lines = [
        ("Bea", "Sounds good. When can you check if the farmhouse is free in the second week of October?"),
        ("Gwen", "I will call them tomorrow."),
        ("Bea", "When will you join the interview panel?"),
        ("Gwen", "Yes, I can do one interview a week."),
    ]
    found = [(o.text, o.owner, o.due) for o in find_outcomes(lines, ["Bea", "Gwen"])]
    assert found == [
        ("Check if the farmhouse is free in the second week of October", "Gwen", "tomorrow"),
        # One word in common ("week") does not make it the farmhouse task again.
        ("Join the interview panel", "Gwen", None),
    ]


def test_a_task_said_of_somebody_as_the_recognizer_writes_it() -> None:
    # "Priya will fix ..." written "Priya, we'll fix ...": the speaker goes on about her, or she takes it.
    said = "Priya, we'll fix the export bug. She already found the slow query. She thinks it can be done by Thursday."
    about = [("Tom", said), ("Maria", "Good.")]
    people = ["Tom", "Maria", "Priya", "Carl"]
    assert [(o.kind, o.text, o.owner, o.due) for o in find_outcomes(about, people)] == [
        ("task", "Fix the export bug", "Priya", "by Thursday")
    ]
    taken = [("Ines", "Carl, we'll pull the usage numbers for every setting."), ("Carl", "I will pull them tonight.")]
    assert [(o.kind, o.text, o.owner, o.due) for o in find_outcomes(taken, people)] == [
        ("task", "Pull the usage numbers for every setting", "Carl", "tonight")
    ]
    # Said to Tom, it is the group's: a decision.
    to_him = [("Maria", "Tom, we'll launch on the twelfth of May. You did the numbers."), ("Tom", "Thanks.")]
    assert [(o.kind, o.owner) for o in find_outcomes(to_him, people)] == [("decision", None)]


def test_i_can_offers_where_it_answers_not_where_it_tells_what_one_is_able_to() -> None:
    lines = [
        ("Kenji", "Could we just hire a contractor for the tickets?"),
        ("Priya", "I would rather not. I can track them by hand in the same export all day."),
        ("Maria", "Somebody has to write the checklist copy."),
        ("Jonas", "Sure. I can take the checklist copy."),
    ]
    found = [(o.text, o.owner) for o in find_outcomes(lines, ["Kenji", "Priya", "Maria", "Jonas"])]
    assert found == [("Write the checklist copy", "Jonas")]


def test_a_decision_run_into_the_next_item_and_an_opinion_agreed_with() -> None:
    run_on = "Great, so we are agreed, the app launches on the twelfth of May, now support, Priya, how big is it?"
    lines = [("Maria", run_on), ("Zoe", "Agreed, that tart looked unreal.")]
    assert [o.text for o in find_outcomes(lines, ["Maria", "Priya", "Zoe"])] == [
        "The app launches on the twelfth of May"
    ]


def test_the_date_said_after_a_task_while_speaking_of_it() -> None:
    lines = [("Raj", "I will add an alert on the error rate. Not just latency, I can have it in place by Friday.")]
    assert [(o.text, o.due) for o in find_outcomes(lines, ["Raj"])] == [("Add an alert on the error rate", "by Friday")]


def test_a_proposal_accepted_in_everyday_words_and_one_taken_back() -> None:
    accepted = [
        ("Ana", "How about we move the offsite to October?"),
        ("Ben", "Sounds good. I will book the venue tomorrow."),
    ]
    found = [(o.kind, o.text, o.owner) for o in find_outcomes(accepted, ["Ana", "Ben"])]
    assert found == [("task", "Book the venue", "Ben"), ("decision", "Move the offsite to October", None)]
    taken_back = [("Ana", "Should we move the offsite to October?"), ("Ben", "Yes. But not if flights cost more.")]
    assert find_outcomes(taken_back, ["Ana", "Ben"]) == []


def test_the_date_another_voice_gives_a_task_nobody_took() -> None:
    lines = [
        ("Farah", "Then someone needs to tell the events agency we are not renewing the booth."),
        ("Dana", "Yes, that has to happen before the end of March."),
    ]
    found = [(o.text, o.owner, o.due) for o in find_outcomes(lines, ["Farah", "Dana"])]
    assert found == [("Tell the events agency we are not renewing the booth", None, "before the end of March")]


def test_a_task_given_as_somebody_to_do_it() -> None:
    lines = [
        ("Ana", "We need Carla to check the on-call numbers. So, Ben to send the deck by Friday."),
        ("Ben", "It is up to Carla to decide."),
    ]
    found = [(o.text, o.owner, o.due) for o in find_outcomes(lines, ["Ana", "Ben", "Carla"])]
    assert found == [("Check the on-call numbers", "Carla", None), ("Send the deck", "Ben", "by Friday")]


def test_a_name_then_an_order_taken_on_is_a_request() -> None:
    lines = [
        ("Nina", "That is fair. Raj, update the rota so that Sofia is off weekends until June."),
        ("Raj", "Will do, I will update it today."),
        ("Nina", "Tom, nice work on the alert."),
        ("Tom", "Thanks."),
        ("Nina", "Marcus, look at the graph."),
        ("Marcus", "It went down at nine."),
        ("Sofia", "I can accept a trial of the new rota."),
    ]
    found = [(o.text, o.owner, o.due) for o in find_outcomes(lines, ["Nina", "Raj", "Tom", "Marcus", "Sofia"])]
    # "Tom, nice work" asks for nothing; Marcus is shown something in the meeting and takes nothing on;
    # "I can accept ..." agrees. The date the answer gives is the due date, and the task ends before the
    # date it said ("until June").
    assert found == [("Update the rota so that Sofia is off weekends", "Raj", "today")]


def test_a_voice_nobody_named_that_answers_for_a_named_task_is_that_person() -> None:
    lines = [
        ("Ines", "Carl will pull the usage numbers for every setting."),
        ("Speaker 4", "I will pull them from the last ninety days."),
        ("Ines", "Good."),
        ("Speaker 4", "I will also clean up the old settings."),
    ]
    found = [(o.text, o.owner) for o in find_outcomes(lines, ["Ines", "Carl", "Speaker 4"], ["Speaker 4"])]
    assert found == [("Pull the usage numbers for every setting", "Carl"), ("Clean up the old settings", "Carl")]


def _found(lines: list[tuple[str, str]], people: list[str]) -> list[tuple[str, str, str | None, str | None]]:
    return [(o.kind, o.text, o.owner, o.due) for o in find_outcomes(lines, people)]


def test_requests_in_other_words_are_requests() -> None:
    lines = [
        ("Helen", "Yusuf, it'd be great if you could go through the reference list."),
        ("Yusuf", "Sure."),
        ("Gwen", "And Noor, I need you to rewrite the dish descriptions by Monday."),
        ("Noor", "No problem."),
        ("Rosie", "Kofi, would you mind ringing the supermarket as well?"),
        ("Kofi", "Not at all."),
        ("Ingrid", "Thanks, Matteo. Yusuf, can I ask you to build the payment integration?"),
        ("Yusuf", "Yes, that works for me."),
    ]
    assert [(t, o, d) for _, t, o, d in _found(lines, ["Helen", "Yusuf", "Gwen", "Noor", "Rosie", "Kofi"])] == [
        ("Go through the reference list", "Yusuf", None),
        ("Rewrite the dish descriptions", "Noor", "by Monday"),
        ("Ring the supermarket as well", "Kofi", None),  # "would you mind ringing": what it asks for
        ("Build the payment integration", "Yusuf", None),
    ]


def test_minuted_actions_and_tasks_told_of_have_their_owner() -> None:
    lines = [
        ("Ingrid", "Action for Priya, then. Write the checkout tests for an edited basket before the next release."),
        ("Priya", "Happy to."),
        ("Ravi", "Oh, and Aunty Meena said she'd ask her caterer for a quote."),
        ("Margaret", "Thank you. And Oliver's agreed to give her an induction on the finances."),
        ("Anjali", "Mum will say she doesn't want a fuss."),
        ("Gareth", "And someone will need to update the rota sheet on the noticeboard."),
        ("Ingrid", "Gareth, you're on the refunds. Please send finance the list by Wednesday."),
        ("Gareth", "Fine, this afternoon."),
    ]
    people = ["Ingrid", "Priya", "Ravi", "Meena", "Margaret", "Oliver", "Anjali", "Mum", "Gareth"]
    assert [(t, o, d) for _, t, o, d in _found(lines, people)] == [
        ("Write the checkout tests for an edited basket", "Priya", "before the next release"),
        ("Ask her caterer for a quote", "Meena", None),
        ("Give her an induction on the finances", "Oliver", None),
        # "Mum will say ...": what somebody will say is no task.
        ("Update the rota sheet on the noticeboard", None, None),
        ("Send finance the list", "Gareth", "this afternoon"),
    ]


def test_dues_said_as_a_day_of_the_month_asap_or_misheard_end_on() -> None:
    lines = [
        ("Declan", "The gazebo is in my garage, so that one's mine. I'll bring them down on the 14th."),
        ("Gareth", "I'll take that. I'll clear out the old builds on staging ASAP."),
        ("Ingrid", "Of course, I'll send the photos at the end of November."),
        ("Anjali", "Then I'll send the cards out before the end on the month."),
        ("Rosie", "Or I'll sort out the bakers, they just need asking."),
        ("Dana", "And I can circulate a first draft by the 20th of December."),
    ]
    assert [(t, o, d) for _, t, o, d in _found(lines, ["Declan", "Gareth", "Ingrid", "Anjali", "Rosie", "Dana"])] == [
        ("Bring them down", "Declan", "on the 14th"),
        ("Clear out the old builds on staging", "Gareth", "ASAP"),
        ("Send the photos", "Ingrid", "at the end of November"),
        ("Send the cards out", "Anjali", "before the end on the month"),
        ("Sort out the bakers", "Rosie", None),
        ("Circulate a first draft", "Dana", "by the 20th of December"),
    ]


def test_a_word_before_a_comma_is_nobody_to_give_orders_to() -> None:
    lines = [
        ("Anjali", "Ha, fair point. Hard, fair point. Okay, let's go with the cricket club, then."),
        ("Ravi", "Yeah. I'll pay the deposit tomorrow, before somebody else grabs the date."),
        ("Helen", "Please keep that up. Thanks, both of you."),
    ]
    assert _found(lines, ["Anjali", "Ravi", "Hard", "Helen"]) == [
        ("decision", "Let's go with the cricket club, then", None, None),
        ("task", "Pay the deposit", "Ravi", "tomorrow"),
    ]


def test_choices_summaries_and_motions_are_decisions_facts_agreed_with_and_recalled_are_not() -> None:
    lines = [
        ("Ravi", "Just not chocolate. Dad can't stand chocolate."),
        ("Anjali", "Fine, we're going with lemon. Mum loves lemon anyway."),
        ("Tobias", "I agree, it drifted by almost two degrees on Tuesday night."),
        ("Margaret", "You remember we agreed in July to move our account to the cooperative bank."),
        ("Oliver", "I move that we release two thousand pounds from reserves."),
        ("Margaret", "All in favour? Any against? Carried unanimously."),
        ("Ingrid", "Great. So we're agreed, the payment provider is the sprint goal."),
    ]
    assert [(k, t) for k, t, _, _ in _found(lines, ["Ravi", "Anjali", "Tobias", "Margaret", "Oliver", "Ingrid"])] == [
        ("decision", "We're going with lemon"),
        ("decision", "Release two thousand pounds from reserves"),
        ("decision", "The payment provider is the sprint goal"),
    ]


def test_a_way_chosen_out_of_two_is_a_decision_where_it_is_stated_or_accepted() -> None:
    lines = [
        ("Ravi", "Now, invitations. Proper cards, or just a group message?"),
        ("Anjali", "Cards for the older relatives, they never look at their phones. A message for everyone else."),
        ("Ravi", "Sounds good to me."),
        ("Yusuf", "Do we refund those people, or just send an apology?"),
        ("Ingrid", "We refund the difference, it's only fair."),
        ("Ravi", "Do we cook it ourselves, or get someone in?"),
        ("Anjali", "Honestly, I think we'd be stuck in the kitchen all day."),
        ("Ravi", "Caterers then, or the pub?"),
        ("Anjali", "The pub does food on Sundays."),
        ("Ravi", "Do we finish the toggle or park it for now?"),
        ("Priya", "I'd finish it."),
        ("Ravi", "Sure."),
    ]
    # Weighing the ways ("I think ...", "I'd ...") chooses nothing, and neither does a fact nobody took up.
    assert [(k, t) for k, t, _, _ in _found(lines, ["Ravi", "Anjali", "Yusuf", "Ingrid", "Priya"])] == [
        ("decision", "Cards for the older relatives; a message for everyone else"),
        ("decision", "We refund the difference"),
    ]


def test_two_tasks_of_one_owner_sharing_only_their_verb_stay_two() -> None:
    lines = [
        ("Rosie", "Kofi, would you mind bringing the supermarket the new collection times?"),
        ("Kofi", "Not at all."),
        ("Rosie", "Great. And the gazebo?"),
        ("Kofi", "That one's mine too, I'll bring it down on the 14th."),
    ]
    assert [(t, o, d) for _, t, o, d in _found(lines, ["Rosie", "Kofi"])] == [
        ("Bring the supermarket the new collection times", "Kofi", None),
        ("Bring it down", "Kofi", "on the 14th"),
    ]


def test_a_date_something_happened_is_no_due_date() -> None:
    lines = [
        ("Raj", "Sofia will write the post-mortem. She was on the call with the biggest customer on Sunday."),
        ("Gwen", "Marco, can you chase the fish supplier?"),
        ("Noor", "It was soft again on Friday, we sent it back."),
        ("Gwen", "Someone needs to tell the agency."),
        ("Noor", "Yes, that has to happen before the end of March."),
    ]
    assert [(t, o, d) for _, t, o, d in _found(lines, ["Raj", "Sofia", "Gwen", "Marco", "Noor"])] == [
        ("Write the post-mortem", "Sofia", None),
        ("Chase the fish supplier", "Marco", None),
        ("Tell the agency", None, "before the end of March"),
    ]


def test_what_was_settled_starts_at_let_s() -> None:
    lines = [
        ("Ravi", "It's outside, and it's October."),
        ("Anjali", "Ha, fair point, okay, let's go with the cricket club."),
    ]
    assert [(k, t) for k, t, _, _ in _found(lines, ["Ravi", "Anjali"])] == [
        ("decision", "Let's go with the cricket club")
    ]


def test_agreeing_with_a_proposal_in_a_gerund_is_a_decision() -> None:
    lines = [
        ("Evan", "I would drop the spring conference and move that money to online ads."),
        ("Dana", "I agree with dropping the conference. But I want to keep five thousand for the meetups."),
    ]
    assert [(k, t) for k, t, _, _ in _found(lines, ["Dana", "Evan"])] == [("decision", "Dropping the conference")]
