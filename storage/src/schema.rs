// The same tables on both backends; column types are the ones both map alike.

diesel::table! {
    ledger (seq) {
        seq -> BigInt,
        entry_id -> Text,
        kind -> Text,
        actor -> Nullable<Text>,
        unit_code -> Nullable<Text>,
        captured_at -> BigInt,
        received_at -> BigInt,
        body -> Binary,
        leaf_hash -> Binary,
        verdicts -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_payloads (seq) {
        seq -> BigInt,
        salt -> Binary,
        payload -> Binary,
    }
}

diesel::table! {
    units (code) {
        code -> Text,
        name -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        path -> Text,
        boundary -> Nullable<Text>,
        tolerance_m -> Double,
        seq -> BigInt,
    }
}

diesel::table! {
    people (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        display_name -> Text,
        role -> Text,
        unit_code -> Nullable<Text>,
        unit_path -> Text,
        phone -> Nullable<Text>,
        seq -> BigInt,
        active -> Bool,
        must_change_password -> Bool,
        token_generation -> BigInt,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        person_id -> Text,
        unit_code -> Text,
        role -> Text,
        valid_from -> Text,
        valid_to -> Nullable<Text>,
        seq -> BigInt,
    }
}

diesel::table! {
    households (id) {
        id -> Text,
        unit_code -> Text,
        head_name -> Text,
        members -> Integer,
        lon -> Double,
        lat -> Double,
        seq -> BigInt,
    }
}

diesel::table! {
    records (id) {
        id -> Text,
        person_id -> Text,
        kind -> Text,
        seq -> BigInt,
        captured_at -> BigInt,
        content_hash -> Binary,
        unit_code -> Nullable<Text>,
        actual_unit_code -> Nullable<Text>,
        geo -> Text,
        roster -> Text,
        refers_to -> Nullable<Text>,
    }
}

diesel::joinable!(ledger_payloads -> ledger (seq));
diesel::allow_tables_to_appear_in_same_query!(
    ledger,
    ledger_payloads,
    units,
    people,
    assignments,
    households,
    records
);

diesel::table! {
    merkle_nodes (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    checkpoints (size) {
        size -> BigInt,
        root -> Binary,
        note -> Text,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(ledger, merkle_nodes);

diesel::table! {
    fixes (seq) {
        seq -> BigInt,
        record_id -> Text,
        person_id -> Text,
        captured_at -> BigInt,
        lon -> Double,
        lat -> Double,
        sent_lon -> Double,
        sent_lat -> Double,
        accuracy_m -> Double,
    }
}

diesel::table! {
    device_bindings (seq) {
        seq -> BigInt,
        person_id -> Text,
        device_id -> Text,
    }
}

diesel::table! {
    policies (seq) {
        seq -> BigInt,
        unit_code -> Text,
        body -> Text,
    }
}

diesel::table! {
    pairings (id) {
        id -> Text,
        person_id -> Text,
        household_id -> Text,
        valid_from -> Text,
        valid_to -> Nullable<Text>,
        seq -> BigInt,
    }
}

diesel::table! {
    requests (record_id) {
        record_id -> Text,
        person_id -> Text,
        kind -> Text,
        refers_to -> Nullable<Text>,
        date_from -> Nullable<Text>,
        date_to -> Nullable<Text>,
        corrected_at -> Nullable<BigInt>,
        corrected_geo -> Nullable<Text>,
        status -> Text,
        decision_seq -> Nullable<BigInt>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<BigInt>,
        decision_note -> Nullable<Text>,
        returned_on -> Nullable<Text>,
    }
}

diesel::table! {
    duties (record_id) {
        record_id -> Text,
        person_id -> Text,
        unit_code -> Text,
        day -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    attachments (sha256, uploaded_by) {
        sha256 -> Text,
        uploaded_by -> Text,
        size -> BigInt,
        media_type -> Text,
        uploaded_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(records, requests, fixes, pairings);
diesel::allow_tables_to_appear_in_same_query!(ledger_payloads, requests);
diesel::allow_tables_to_appear_in_same_query!(ledger, requests);

diesel::table! {
    visits (seq) {
        seq -> BigInt,
        household_id -> Text,
        person_id -> Text,
        captured_at -> BigInt,
    }
}

diesel::table! {
    draws (id) {
        id -> Text,
        seq -> BigInt,
        unit_code -> Text,
        unit_path -> Text,
        population -> Text,
        size -> Integer,
        period -> Text,
        purpose -> Nullable<Text>,
        emergency_reason -> Nullable<Text>,
        drawn_by -> Nullable<Text>,
        drawn_at -> BigInt,
        members -> Text,
        population_sha256 -> Text,
        passed_over -> Text,
        checkpoint_size -> BigInt,
        sample -> Text,
        sample_seq -> BigInt,
    }
}

diesel::table! {
    challenges (id) {
        id -> Text,
        seq -> BigInt,
        draw_id -> Text,
        person_id -> Text,
        nonce -> Text,
        issued_by -> Nullable<Text>,
        issued_at -> BigInt,
        deadline -> BigInt,
        status -> Text,
        outcome_id -> Nullable<Text>,
        answer_id -> Nullable<Text>,
        answered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    alerts (id) {
        id -> Text,
        seq -> BigInt,
        kind -> Text,
        unit_code -> Nullable<Text>,
        unit_path -> Text,
        person_id -> Nullable<Text>,
        source_id -> Text,
        status -> Text,
        created_at -> BigInt,
        detail -> Text,
        acked_by -> Nullable<Text>,
        acked_at -> Nullable<BigInt>,
        ack_note -> Nullable<Text>,
        ack_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    contests (record_id, verification_id) {
        record_id -> Text,
        verification_id -> Text,
        seq -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(visits, records);
diesel::allow_tables_to_appear_in_same_query!(contests, records);

diesel::table! {
    verifications (id) {
        id -> Text,
        seq -> BigInt,
        household_id -> Text,
        draw_id -> Nullable<Text>,
        result -> Text,
        person_id -> Nullable<Text>,
        verified_by -> Nullable<Text>,
        verified_at -> BigInt,
    }
}
diesel::allow_tables_to_appear_in_same_query!(policies, ledger);

diesel::table! {
    record_flags (seq) {
        seq -> BigInt,
        person_id -> Text,
        captured_at -> BigInt,
        flags -> Text,
    }
}

diesel::table! {
    notes (record_id) {
        record_id -> Text,
        seq -> BigInt,
        person_id -> Text,
        author_id -> Text,
        category -> Text,
        captured_at -> BigInt,
    }
}

diesel::table! {
    negative_decisions (item_id) {
        item_id -> Text,
        seq -> BigInt,
        rule -> Text,
        person_id -> Text,
        unit_code -> Text,
        unit_path -> Text,
        month -> Text,
        fact_date -> Text,
        decision -> Text,
        note -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> BigInt,
        item -> Text,
    }
}

diesel::table! {
    escalation_actions (seq) {
        seq -> BigInt,
        id -> Text,
        person_id -> Text,
        level -> Integer,
        name -> Text,
        note -> Text,
        taken_on -> Text,
        recorded_by -> Nullable<Text>,
        recorded_at -> BigInt,
    }
}

diesel::table! {
    bulletins (seq) {
        seq -> BigInt,
        unit_code -> Text,
        month -> Text,
        sha256 -> Text,
        published_by -> Nullable<Text>,
        published_at -> BigInt,
    }
}
diesel::allow_tables_to_appear_in_same_query!(notes, ledger_payloads);
diesel::allow_tables_to_appear_in_same_query!(bulletins, ledger_payloads);
diesel::allow_tables_to_appear_in_same_query!(ledger, fixes);
diesel::allow_tables_to_appear_in_same_query!(people, fixes);

diesel::table! {
    read_audits (seq) {
        seq -> BigInt,
        actor_id -> Text,
        actor_role -> Text,
        person_id -> Nullable<Text>,
        unit_code -> Nullable<Text>,
        what -> Text,
        reason -> Nullable<Text>,
        read_at -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        unit_code -> Text,
        unit_path -> Text,
        events -> Nullable<Text>,
        secret -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        seq -> BigInt,
        deleted_at -> Nullable<BigInt>,
        deleted_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        alert_id -> Text,
        event_type -> Text,
        body -> Text,
        state -> Text,
        attempts -> Integer,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<BigInt>,
        next_attempt_at -> BigInt,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);

diesel::table! {
    record_attachments (sha256, seq) {
        sha256 -> Text,
        seq -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(record_attachments, ledger_payloads);
diesel::allow_tables_to_appear_in_same_query!(record_attachments, attachments);

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        person_id -> Text,
        expires_at -> BigInt,
    }
}
diesel::allow_tables_to_appear_in_same_query!(pairings, households);
diesel::allow_tables_to_appear_in_same_query!(pairings, units);

diesel::table! {
    health_probe (id) {
        id -> Integer,
        checked_at -> BigInt,
    }
}
