package io.closeconnect.users.packaging;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Decodes values written by Confluent's AvroConverter without Confluent's client libraries: the
 * wire format is a zero magic byte, the schema id as a big-endian int, then Avro binary. The
 * writer schema comes from the registry's REST API, {@code GET /schemas/ids/{id}}.
 */
final class RegistryAvroDecoder {

    private final String registryUrl;
    private final HttpClient http = HttpClient.newHttpClient();
    private final Map<Integer, Schema> schemas = new ConcurrentHashMap<>();

    RegistryAvroDecoder(String registryUrl) {
        this.registryUrl = registryUrl.endsWith("/") ? registryUrl.substring(0, registryUrl.length() - 1) : registryUrl;
    }

    GenericRecord decode(byte[] value) throws IOException {
        if (value == null || value.length < 5) {
            throw new IOException("Not Schema Registry wire format: " + (value == null ? "null" : value.length + " bytes"));
        }
        ByteBuffer buffer = ByteBuffer.wrap(value);
        byte magic = buffer.get();
        if (magic != 0) {
            throw new IOException("Unknown magic byte " + magic + ": not Schema Registry wire format");
        }
        int id = buffer.getInt();
        Schema schema = schemas.get(id);
        if (schema == null) {
            schema = fetch(id);
            schemas.put(id, schema);
        }
        return new GenericDatumReader<GenericRecord>(schema)
                .read(null, DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null));
    }

    Schema fetch(int id) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(registryUrl + "/schemas/ids/" + id)).GET().build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("Interrupted while fetching schema " + id, e);
        }
        if (response.statusCode() != 200) {
            throw new IOException("Schema Registry answered " + response.statusCode() + " for schema id " + id + ": "
                    + response.body());
        }
        String schema = new ObjectMapper().readTree(response.body()).path("schema").asText();
        return new Schema.Parser().parse(schema);
    }
}
