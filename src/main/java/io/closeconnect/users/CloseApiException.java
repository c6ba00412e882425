package io.closeconnect.users;

import org.apache.kafka.connect.errors.ConnectException;

/** A failure of the Close API that retrying will not fix, with the status and what to change. */
public final class CloseApiException extends ConnectException {

    private final int status;

    public CloseApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The HTTP status, or 0 when the failure was not an HTTP answer (the retry budget ran out). */
    public int status() {
        return status;
    }
}
