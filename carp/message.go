package carp

//go:generate stringer -type=Message -linecomment -output=message_string.go

// Message identifies a log line that the state machine asks for. Its
// String is the text, in ucarp's wording where ucarp has the same event;
// a "%s" or "%d" in it stands for the Action's fields as each Message's
// comment says.
type Message uint8

// Messages. The line comments are the texts that String returns (go
// generate).
const (
	// MsgSwitchState: %s is Action.To.
	MsgSwitchState        Message = iota + 1 // Switching to state: %s
	MsgPreferredMaster                       // Preferred master advertised: going back to BACKUP state
	MsgNonPreferredMaster                    // Non-preferred master advertising: reasserting control of VIP with another gratuitous arp
	MsgPreemption                            // Putting MASTER down - preemption
	MsgGoingToTimeOut                        // Putting MASTER DOWN (going to time out)
	// MsgWriteErrors: the two %d are Arg (the suppression count before it
	// grows) and Arg2 (the error threshold, 3).
	MsgWriteErrors // write() error #%d/%d
	// MsgCompareIntervals: the two %d are Arg and Arg2, the two intervals'
	// seconds.
	MsgCompareIntervals // sc_tv(local) = [%d] ch_tv(remote) = [%d]
	MsgBowOut           // Bow-out advert sent (advbase 255, advskew 255): peers take over at once
	MsgDemoted          // Demoted: leaving MASTER, not contending for the hold time
	MsgDemotionOver     // Demotion over: contending again
	MsgCarrierLost      // Carrier lost: leaving the election until it is back
	MsgCarrierBack      // Carrier back: starting a new election
	MsgSuppressionOver  // Adverts are sent again: send-error suppression over
)
