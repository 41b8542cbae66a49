package wire

// Kafka protocol errors a producer can meet; see [ErrorForCode].
var (
	ErrUnknownServerError                 = &Error{Code: -1, Name: "UNKNOWN_SERVER_ERROR", Retriable: false, RefreshMetadata: false, Description: "the server experienced an unexpected error when processing the request"}
	ErrOffsetOutOfRange                   = &Error{Code: 1, Name: "OFFSET_OUT_OF_RANGE", Retriable: false, RefreshMetadata: false, Description: "the requested offset is not within the range of offsets maintained by the server"}
	ErrCorruptMessage                     = &Error{Code: 2, Name: "CORRUPT_MESSAGE", Retriable: true, RefreshMetadata: false, Description: "this message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt"}
	ErrUnknownTopicOrPartition            = &Error{Code: 3, Name: "UNKNOWN_TOPIC_OR_PARTITION", Retriable: true, RefreshMetadata: true, Description: "this server does not host this topic-partition"}
	ErrInvalidFetchSize                   = &Error{Code: 4, Name: "INVALID_FETCH_SIZE", Retriable: false, RefreshMetadata: false, Description: "the requested fetch size is invalid"}
	ErrLeaderNotAvailable                 = &Error{Code: 5, Name: "LEADER_NOT_AVAILABLE", Retriable: true, RefreshMetadata: true, Description: "there is no leader for this topic-partition as we are in the middle of a leadership election"}
	ErrNotLeaderOrFollower                = &Error{Code: 6, Name: "NOT_LEADER_OR_FOLLOWER", Retriable: true, RefreshMetadata: true, Description: "for requests intended only for the leader, this error indicates that the broker is not the current leader"}
	ErrRequestTimedOut                    = &Error{Code: 7, Name: "REQUEST_TIMED_OUT", Retriable: true, RefreshMetadata: false, Description: "the request timed out"}
	ErrBrokerNotAvailable                 = &Error{Code: 8, Name: "BROKER_NOT_AVAILABLE", Retriable: false, RefreshMetadata: false, Description: "the broker is not available"}
	ErrReplicaNotAvailable                = &Error{Code: 9, Name: "REPLICA_NOT_AVAILABLE", Retriable: true, RefreshMetadata: true, Description: "the replica is not available for the requested topic-partition"}
	ErrMessageTooLarge                    = &Error{Code: 10, Name: "MESSAGE_TOO_LARGE", Retriable: false, RefreshMetadata: false, Description: "the request included a message larger than the max message size the server will accept"}
	ErrStaleControllerEpoch               = &Error{Code: 11, Name: "STALE_CONTROLLER_EPOCH", Retriable: false, RefreshMetadata: false, Description: "the controller moved to another broker"}
	ErrOffsetMetadataTooLarge             = &Error{Code: 12, Name: "OFFSET_METADATA_TOO_LARGE", Retriable: false, RefreshMetadata: false, Description: "the metadata field of the offset request was too large"}
	ErrNetworkException                   = &Error{Code: 13, Name: "NETWORK_EXCEPTION", Retriable: true, RefreshMetadata: true, Description: "the server disconnected before a response was received"}
	ErrCoordinatorLoadInProgress          = &Error{Code: 14, Name: "COORDINATOR_LOAD_IN_PROGRESS", Retriable: true, RefreshMetadata: false, Description: "the coordinator is loading and hence can't process requests"}
	ErrCoordinatorNotAvailable            = &Error{Code: 15, Name: "COORDINATOR_NOT_AVAILABLE", Retriable: true, RefreshMetadata: false, Description: "the coordinator is not available"}
	ErrNotCoordinator                     = &Error{Code: 16, Name: "NOT_COORDINATOR", Retriable: true, RefreshMetadata: false, Description: "this is not the correct coordinator"}
	ErrInvalidTopic                       = &Error{Code: 17, Name: "INVALID_TOPIC_EXCEPTION", Retriable: false, RefreshMetadata: false, Description: "the request attempted to perform an operation on an invalid topic"}
	ErrRecordListTooLarge                 = &Error{Code: 18, Name: "RECORD_LIST_TOO_LARGE", Retriable: false, RefreshMetadata: false, Description: "the request included message batch larger than the configured segment size on the server"}
	ErrNotEnoughReplicas                  = &Error{Code: 19, Name: "NOT_ENOUGH_REPLICAS", Retriable: true, RefreshMetadata: false, Description: "messages are rejected since there are fewer in-sync replicas than required"}
	ErrNotEnoughReplicasAfterAppend       = &Error{Code: 20, Name: "NOT_ENOUGH_REPLICAS_AFTER_APPEND", Retriable: true, RefreshMetadata: false, Description: "messages are written to the log, but to fewer in-sync replicas than required"}
	ErrInvalidRequiredAcks                = &Error{Code: 21, Name: "INVALID_REQUIRED_ACKS", Retriable: false, RefreshMetadata: false, Description: "produce request specified an invalid value for required acks"}
	ErrIllegalGeneration                  = &Error{Code: 22, Name: "ILLEGAL_GENERATION", Retriable: false, RefreshMetadata: false, Description: "specified group generation id is not valid"}
	ErrInvalidGroupID                     = &Error{Code: 24, Name: "INVALID_GROUP_ID", Retriable: false, RefreshMetadata: false, Description: "the configured groupId is invalid"}
	ErrTopicAuthorizationFailed           = &Error{Code: 29, Name: "TOPIC_AUTHORIZATION_FAILED", Retriable: false, RefreshMetadata: false, Description: "topic authorization failed"}
	ErrGroupAuthorizationFailed           = &Error{Code: 30, Name: "GROUP_AUTHORIZATION_FAILED", Retriable: false, RefreshMetadata: false, Description: "group authorization failed"}
	ErrClusterAuthorizationFailed         = &Error{Code: 31, Name: "CLUSTER_AUTHORIZATION_FAILED", Retriable: false, RefreshMetadata: false, Description: "cluster authorization failed"}
	ErrInvalidTimestamp                   = &Error{Code: 32, Name: "INVALID_TIMESTAMP", Retriable: false, RefreshMetadata: false, Description: "the timestamp of the message is out of acceptable range"}
	ErrUnsupportedSaslMechanism           = &Error{Code: 33, Name: "UNSUPPORTED_SASL_MECHANISM", Retriable: false, RefreshMetadata: false, Description: "the broker does not support the requested SASL mechanism"}
	ErrIllegalSaslState                   = &Error{Code: 34, Name: "ILLEGAL_SASL_STATE", Retriable: false, RefreshMetadata: false, Description: "request is not valid given the current SASL state"}
	ErrUnsupportedVersion                 = &Error{Code: 35, Name: "UNSUPPORTED_VERSION", Retriable: false, RefreshMetadata: false, Description: "the version of API is not supported"}
	ErrTopicAlreadyExists                 = &Error{Code: 36, Name: "TOPIC_ALREADY_EXISTS", Retriable: false, RefreshMetadata: false, Description: "topic with this name already exists"}
	ErrInvalidPartitions                  = &Error{Code: 37, Name: "INVALID_PARTITIONS", Retriable: false, RefreshMetadata: false, Description: "number of partitions is below 1"}
	ErrInvalidConfig                      = &Error{Code: 40, Name: "INVALID_CONFIG", Retriable: false, RefreshMetadata: false, Description: "configuration is invalid"}
	ErrNotController                      = &Error{Code: 41, Name: "NOT_CONTROLLER", Retriable: true, RefreshMetadata: false, Description: "this is not the correct controller for this cluster"}
	ErrInvalidRequest                     = &Error{Code: 42, Name: "INVALID_REQUEST", Retriable: false, RefreshMetadata: false, Description: "this most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker"}
	ErrUnsupportedForMessageFormat        = &Error{Code: 43, Name: "UNSUPPORTED_FOR_MESSAGE_FORMAT", Retriable: false, RefreshMetadata: false, Description: "the message format version on the broker does not support the request"}
	ErrPolicyViolation                    = &Error{Code: 44, Name: "POLICY_VIOLATION", Retriable: false, RefreshMetadata: false, Description: "request parameters do not satisfy the configured policy"}
	ErrOutOfOrderSequenceNumber           = &Error{Code: 45, Name: "OUT_OF_ORDER_SEQUENCE_NUMBER", Retriable: false, RefreshMetadata: false, Description: "the broker received an out of order sequence number"}
	ErrDuplicateSequenceNumber            = &Error{Code: 46, Name: "DUPLICATE_SEQUENCE_NUMBER", Retriable: false, RefreshMetadata: false, Description: "the broker received a duplicate sequence number"}
	ErrInvalidProducerEpoch               = &Error{Code: 47, Name: "INVALID_PRODUCER_EPOCH", Retriable: false, RefreshMetadata: false, Description: "producer attempted to produce with an old epoch"}
	ErrInvalidTxnState                    = &Error{Code: 48, Name: "INVALID_TXN_STATE", Retriable: false, RefreshMetadata: false, Description: "the producer attempted a transactional operation in an invalid state"}
	ErrInvalidProducerIDMapping           = &Error{Code: 49, Name: "INVALID_PRODUCER_ID_MAPPING", Retriable: false, RefreshMetadata: false, Description: "the producer attempted to use a producer id which is not currently assigned to its transactional id"}
	ErrInvalidTransactionTimeout          = &Error{Code: 50, Name: "INVALID_TRANSACTION_TIMEOUT", Retriable: false, RefreshMetadata: false, Description: "the transaction timeout is larger than the maximum value allowed by the broker"}
	ErrConcurrentTransactions             = &Error{Code: 51, Name: "CONCURRENT_TRANSACTIONS", Retriable: true, RefreshMetadata: false, Description: "the producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing"}
	ErrTransactionCoordinatorFenced       = &Error{Code: 52, Name: "TRANSACTION_COORDINATOR_FENCED", Retriable: false, RefreshMetadata: false, Description: "the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator"}
	ErrTransactionalIDAuthorizationFailed = &Error{Code: 53, Name: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", Retriable: false, RefreshMetadata: false, Description: "transactional id authorization failed"}
	ErrSecurityDisabled                   = &Error{Code: 54, Name: "SECURITY_DISABLED", Retriable: false, RefreshMetadata: false, Description: "security features are disabled"}
	ErrOperationNotAttempted              = &Error{Code: 55, Name: "OPERATION_NOT_ATTEMPTED", Retriable: false, RefreshMetadata: false, Description: "the broker did not attempt to execute this operation"}
	ErrKafkaStorageError                  = &Error{Code: 56, Name: "KAFKA_STORAGE_ERROR", Retriable: true, RefreshMetadata: true, Description: "disk error when trying to access log file on the disk"}
	ErrLogDirNotFound                     = &Error{Code: 57, Name: "LOG_DIR_NOT_FOUND", Retriable: false, RefreshMetadata: false, Description: "the user-specified log directory is not found in the broker config"}
	ErrSaslAuthenticationFailed           = &Error{Code: 58, Name: "SASL_AUTHENTICATION_FAILED", Retriable: false, RefreshMetadata: false, Description: "SASL authentication failed"}
	ErrUnknownProducerID                  = &Error{Code: 59, Name: "UNKNOWN_PRODUCER_ID", Retriable: false, RefreshMetadata: false, Description: "the broker could not locate the producer metadata associated with the producer id"}
	ErrReassignmentInProgress             = &Error{Code: 60, Name: "REASSIGNMENT_IN_PROGRESS", Retriable: false, RefreshMetadata: false, Description: "a partition reassignment is in progress"}
	ErrFetchSessionIDNotFound             = &Error{Code: 70, Name: "FETCH_SESSION_ID_NOT_FOUND", Retriable: true, RefreshMetadata: false, Description: "the fetch session ID was not found"}
	ErrInvalidFetchSessionEpoch           = &Error{Code: 71, Name: "INVALID_FETCH_SESSION_EPOCH", Retriable: true, RefreshMetadata: false, Description: "the fetch session epoch is invalid"}
	ErrListenerNotFound                   = &Error{Code: 72, Name: "LISTENER_NOT_FOUND", Retriable: true, RefreshMetadata: true, Description: "there is no listener on the leader broker that matches the listener on which the metadata request was processed"}
	ErrFencedLeaderEpoch                  = &Error{Code: 74, Name: "FENCED_LEADER_EPOCH", Retriable: true, RefreshMetadata: true, Description: "the leader epoch in the request is older than the epoch on the broker"}
	ErrUnknownLeaderEpoch                 = &Error{Code: 75, Name: "UNKNOWN_LEADER_EPOCH", Retriable: true, RefreshMetadata: false, Description: "the leader epoch in the request is newer than the epoch on the broker"}
	ErrUnsupportedCompressionType         = &Error{Code: 76, Name: "UNSUPPORTED_COMPRESSION_TYPE", Retriable: false, RefreshMetadata: false, Description: "the requesting client does not support the compression type of given partition"}
	ErrInvalidRecord                      = &Error{Code: 87, Name: "INVALID_RECORD", Retriable: false, RefreshMetadata: false, Description: "this record has failed the validation on broker and hence will be rejected"}
	ErrThrottlingQuotaExceeded            = &Error{Code: 89, Name: "THROTTLING_QUOTA_EXCEEDED", Retriable: true, RefreshMetadata: false, Description: "the throttling quota has been exceeded"}
	ErrProducerFenced                     = &Error{Code: 90, Name: "PRODUCER_FENCED", Retriable: false, RefreshMetadata: false, Description: "there is a newer producer with the same transactionalId which fences the current one"}
	ErrUnknownTopicID                     = &Error{Code: 100, Name: "UNKNOWN_TOPIC_ID", Retriable: true, RefreshMetadata: true, Description: "this server does not host this topic ID"}
	ErrTransactionAbortable               = &Error{Code: 120, Name: "TRANSACTION_ABORTABLE", Retriable: false, RefreshMetadata: false, Description: "the server encountered an error with the transaction; the client can abort the transaction to continue using this transactional id"}
	ErrRebootstrapRequired                = &Error{Code: 129, Name: "REBOOTSTRAP_REQUIRED", Retriable: false, RefreshMetadata: false, Description: "client metadata is stale; the client should rebootstrap to obtain new metadata"}
)

// knownErrors lists every error above, for [ErrorForCode]. It is read-only.
var knownErrors = [...]*Error{
	ErrUnknownServerError,
	ErrOffsetOutOfRange,
	ErrCorruptMessage,
	ErrUnknownTopicOrPartition,
	ErrInvalidFetchSize,
	ErrLeaderNotAvailable,
	ErrNotLeaderOrFollower,
	ErrRequestTimedOut,
	ErrBrokerNotAvailable,
	ErrReplicaNotAvailable,
	ErrMessageTooLarge,
	ErrStaleControllerEpoch,
	ErrOffsetMetadataTooLarge,
	ErrNetworkException,
	ErrCoordinatorLoadInProgress,
	ErrCoordinatorNotAvailable,
	ErrNotCoordinator,
	ErrInvalidTopic,
	ErrRecordListTooLarge,
	ErrNotEnoughReplicas,
	ErrNotEnoughReplicasAfterAppend,
	ErrInvalidRequiredAcks,
	ErrIllegalGeneration,
	ErrInvalidGroupID,
	ErrTopicAuthorizationFailed,
	ErrGroupAuthorizationFailed,
	ErrClusterAuthorizationFailed,
	ErrInvalidTimestamp,
	ErrUnsupportedSaslMechanism,
	ErrIllegalSaslState,
	ErrUnsupportedVersion,
	ErrTopicAlreadyExists,
	ErrInvalidPartitions,
	ErrInvalidConfig,
	ErrNotController,
	ErrInvalidRequest,
	ErrUnsupportedForMessageFormat,
	ErrPolicyViolation,
	ErrOutOfOrderSequenceNumber,
	ErrDuplicateSequenceNumber,
	ErrInvalidProducerEpoch,
	ErrInvalidTxnState,
	ErrInvalidProducerIDMapping,
	ErrInvalidTransactionTimeout,
	ErrConcurrentTransactions,
	ErrTransactionCoordinatorFenced,
	ErrTransactionalIDAuthorizationFailed,
	ErrSecurityDisabled,
	ErrOperationNotAttempted,
	ErrKafkaStorageError,
	ErrLogDirNotFound,
	ErrSaslAuthenticationFailed,
	ErrUnknownProducerID,
	ErrReassignmentInProgress,
	ErrFetchSessionIDNotFound,
	ErrInvalidFetchSessionEpoch,
	ErrListenerNotFound,
	ErrFencedLeaderEpoch,
	ErrUnknownLeaderEpoch,
	ErrUnsupportedCompressionType,
	ErrInvalidRecord,
	ErrThrottlingQuotaExceeded,
	ErrProducerFenced,
	ErrUnknownTopicID,
	ErrTransactionAbortable,
	ErrRebootstrapRequired,
}
