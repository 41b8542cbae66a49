package wire

// Errors of the consumer group coordinator that a transactional producer meets when it
// commits offsets in a transaction (TxnOffsetCommit); see [ErrorForCode]. As in the Java
// client, none is retriable: each means the consumer's group metadata no longer matches the
// group's, and the transaction must abort.
var (
	ErrUnknownMemberID         = &Error{Code: 25, Name: "UNKNOWN_MEMBER_ID", Description: "the coordinator is not aware of this member"}
	ErrRebalanceInProgress     = &Error{Code: 27, Name: "REBALANCE_IN_PROGRESS", Description: "the group is rebalancing, so a rejoin is needed"}
	ErrInvalidCommitOffsetSize = &Error{Code: 28, Name: "INVALID_COMMIT_OFFSET_SIZE", Description: "the committing offset data size is not valid"}
	ErrGroupIDNotFound         = &Error{Code: 69, Name: "GROUP_ID_NOT_FOUND", Description: "the group id does not exist"}
	ErrFencedInstanceID        = &Error{Code: 82, Name: "FENCED_INSTANCE_ID", Description: "another consumer with the same group.instance.id has registered with a different member id"}
	ErrStaleMemberEpoch        = &Error{Code: 113, Name: "STALE_MEMBER_EPOCH", Description: "the member epoch is stale; the member must retry after receiving its updated member epoch"}
)

// groupErrors lists the errors above, for [ErrorForCode]. It is read-only.
var groupErrors = [...]*Error{
	ErrUnknownMemberID,
	ErrRebalanceInProgress,
	ErrInvalidCommitOffsetSize,
	ErrGroupIDNotFound,
	ErrFencedInstanceID,
	ErrStaleMemberEpoch,
}
