import DoseCore

/// The FHIR R4 resources `export --format fhir` writes (SPEC 11), with only the elements dosed
/// uses. Optional elements are left out when absent, as FHIR JSON requires (no nulls).
public enum FHIR {
    public struct Bundle: Encodable, Sendable {
        public let resourceType = "Bundle"
        public var id: String
        public let type = "collection"
        public var timestamp: String
        public var entry: [Entry]
    }

    public struct Entry: Encodable, Sendable {
        public var fullUrl: String
        public var resource: Resource
    }

    public enum Resource: Encodable, Sendable {
        case patient(Patient)
        case medication(Medication)
        case request(MedicationRequest)
        case administration(MedicationAdministration)
        case observation(Observation)

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .patient(let r): try r.encode(to: encoder)
            case .medication(let r): try r.encode(to: encoder)
            case .request(let r): try r.encode(to: encoder)
            case .administration(let r): try r.encode(to: encoder)
            case .observation(let r): try r.encode(to: encoder)
            }
        }

        /// `Type/id`, as references write it.
        public var reference: String {
            switch self {
            case .patient(let r): "Patient/" + r.id
            case .medication(let r): "Medication/" + r.id
            case .request(let r): "MedicationRequest/" + r.id
            case .administration(let r): "MedicationAdministration/" + r.id
            case .observation(let r): "Observation/" + r.id
            }
        }
    }

    public struct Reference: Encodable, Sendable, Equatable { public var reference: String }
    public struct CodeableConcept: Encodable, Sendable, Equatable { public var text: String }
    public struct Annotation: Encodable, Sendable, Equatable { public var text: String }
    public struct HumanName: Encodable, Sendable, Equatable { public var text: String }
    public struct Period: Encodable, Sendable, Equatable { public var start: String?; public var end: String? }
    public struct Quantity: Encodable, Sendable, Equatable {
        public var value: Int64
        public var unit: String?
        public var system: String?
        public var code: String?
    }
    public struct Ratio: Encodable, Sendable, Equatable { public var numerator: Quantity; public var denominator: Quantity }

    public struct Patient: Encodable, Sendable {
        public let resourceType = "Patient"
        public var id: String
        public var name: [HumanName]?
    }

    public struct Medication: Encodable, Sendable {
        public let resourceType = "Medication"
        public var id: String
        public var code: CodeableConcept
    }

    public struct MedicationRequest: Encodable, Sendable {
        public let resourceType = "MedicationRequest"
        public var id: String
        public var status: String
        public let intent = "plan"
        public var medicationReference: Reference
        public var subject: Reference
        public var dosageInstruction: [Dosage]
    }

    public struct Dosage: Encodable, Sendable {
        public var text: String?
        public var timing: Timing?
        public var asNeededBoolean: Bool?
        public var route: CodeableConcept?
        public var maxDosePerPeriod: Ratio?
    }

    public struct Timing: Encodable, Sendable {
        public var code: CodeableConcept?
        public var `repeat`: Repeat?
    }

    public struct Repeat: Encodable, Sendable {
        public var boundsPeriod: Period?
        public var count: Int?
        public var frequency: Int?
        public var period: Int64?
        public var periodUnit: String?
        public var dayOfWeek: [String]?
        public var timeOfDay: [String]?
    }

    public struct MedicationAdministration: Encodable, Sendable {
        public let resourceType = "MedicationAdministration"
        public var id: String
        public var status: String
        public var statusReason: [CodeableConcept]?
        public var medicationReference: Reference
        public var subject: Reference
        public var effectiveDateTime: String
        public var request: Reference?
        public var note: [Annotation]?
        public var dosage: AdministrationDosage?
    }

    public struct AdministrationDosage: Encodable, Sendable {
        public var text: String?
        public var site: CodeableConcept?
        public var route: CodeableConcept?
    }

    public struct Observation: Encodable, Sendable {
        public let resourceType = "Observation"
        public var id: String
        public let status = "final"
        public var code: CodeableConcept
        public var subject: Reference
        public var effectiveDateTime: String
        public var valueInteger: Int?
        public var note: [Annotation]?
    }

    /// Where the bundle's entries live: relative references (`Medication/interferon`) resolve
    /// against it. `.invalid` (RFC 2606) never resolves: nothing is ever fetched from it.
    public static let base = "https://dosed.invalid/fhir/"

    /// A FHIR id (`[A-Za-z0-9.-]{1,64}`) for a dosed key (a medication id, `med/sched`, a dose
    /// id): readable and injective — `/` and `@` become `.` (our ids have no dot) and `:` goes;
    /// a key with `_` or too long becomes `H` and 16 hex digits of its FNV-1a hash.
    public static func id(_ key: String) -> String {
        var text = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "/", "@": text.append(".")
            case ":": break
            case "a"..."z", "A"..."Z", "0"..."9", "-", ".": text.unicodeScalars.append(scalar)
            default: return hashed(key)
            }
        }
        return text.isEmpty || text.utf8.count > 64 ? hashed(key) : text
    }

    static func hashed(_ key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16, uppercase: true)
        return "H" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension FHIR {
    /// What the bundle is made of: the configuration, the doses answered (or missed) in the
    /// period, and the diary.
    public struct Export: Sendable {
        public var config: Configuration
        public var records: [DoseRecord]
        public var notes: [Note]
        public var now: Micros

        public init(config: Configuration, records: [DoseRecord], notes: [Note], now: Micros) {
            self.config = config
            self.records = records
            self.notes = notes
            self.now = now
        }

        static let patient = Reference(reference: "Patient/patient")

        /// The bundle: Patient, Medications, MedicationRequests, MedicationAdministrations, Observations.
        public var bundle: Bundle {
            var resources: [Resource] = [.patient(Patient(id: "patient", name: config.patient.map { [HumanName(text: $0)] }))]
            // Every medication configured, and any the history still names.
            var medicationIDs = config.medications.map(\.id)
            for record in records where config.medication(record.dose.medication) == nil && !medicationIDs.contains(record.dose.medication) {
                medicationIDs.append(record.dose.medication)
            }
            for id in medicationIDs {
                resources.append(.medication(Medication(id: FHIR.id(id), code: CodeableConcept(text: config.medication(id)?.name ?? id))))
            }
            var requests = Set<String>()
            for medication in config.medications {
                for schedule in medication.schedules {
                    let request = self.request(medication, schedule)
                    requests.insert(request.id)
                    resources.append(.request(request))
                }
                if let rule = medication.asNeeded {
                    let request = asNeededRequest(medication, rule)
                    requests.insert(request.id)
                    resources.append(.request(request))
                }
            }
            for record in records {
                guard let administration = administration(record, requests: requests) else { continue }
                resources.append(.administration(administration))
            }
            for note in notes {
                guard let symptom = note.symptom else { continue }
                resources.append(.observation(Observation(
                    id: FHIR.hashed("\(note.at)|\(symptom)|\(note.text)"), code: CodeableConcept(text: symptom), subject: Self.patient,
                    effectiveDateTime: RFC3339.utc(note.at), valueInteger: note.severity,
                    note: note.text.isEmpty ? nil : [Annotation(text: note.text)])))
            }
            return Bundle(id: FHIR.hashed("dosed-export|\(now)"), timestamp: RFC3339.utc(now),
                          entry: resources.map { Entry(fullUrl: FHIR.base + $0.reference, resource: $0) })
        }

        func request(_ medication: DoseCore.Medication, _ schedule: Schedule) -> MedicationRequest {
            let zone = config.zone(for: schedule)
            let ended = schedule.end.map { $0.lastInstant(in: zone) < now } ?? false
            var repeating = Repeat()
            var code: CodeableConcept?
            switch schedule.timing {
            case .interval(let every, let first):
                repeating.frequency = 1
                (repeating.period, repeating.periodUnit) = Self.period(every)
                repeating.boundsPeriod = Period(start: RFC3339.utc((schedule.start ?? first).instant(in: zone)),
                                                end: schedule.end.map { RFC3339.utc($0.lastInstant(in: zone)) })
            case .calendar(let expressions):
                code = CodeableConcept(text: expressions.map(\.source).joined(separator: "; "))
                if expressions.count == 1, let weekly = expressions[0].weekly {
                    repeating.dayOfWeek = weekly.weekdays.count == 7 ? nil
                        : weekly.weekdays.map { ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][$0 - 1] }
                    repeating.timeOfDay = weekly.times.map(Regimen.timeOfDay)
                }
                if schedule.start != nil || schedule.end != nil {
                    repeating.boundsPeriod = Period(start: schedule.start.map { RFC3339.utc($0.instant(in: zone)) },
                                                    end: schedule.end.map { RFC3339.utc($0.lastInstant(in: zone)) })
                }
            }
            repeating.count = schedule.count
            let dosage = Dosage(
                text: [medication.dose(for: schedule.id), Regimen.words(schedule, zone: zone)].compactMap { $0 }.joined(separator: ", "),
                timing: Timing(code: code, repeat: repeating),
                route: medication.route(for: schedule.id).map(CodeableConcept.init))
            return MedicationRequest(id: FHIR.id(medication.id + "/" + schedule.id),
                                     status: schedule.paused ? "on-hold" : ended ? "completed" : "active",
                                     medicationReference: Reference(reference: "Medication/" + FHIR.id(medication.id)),
                                     subject: Self.patient, dosageInstruction: [dosage])
        }

        func asNeededRequest(_ medication: DoseCore.Medication, _ rule: AsNeeded) -> MedicationRequest {
            var words = "as needed, at least \(Regimen.span(rule.minInterval)) apart"
            var maximum: Ratio?
            if let doses = rule.maxDoses, let per = rule.per {
                words += ", at most \(doses) in \(Regimen.span(per))"
                let (value, unit) = Self.period(per)
                maximum = Ratio(numerator: Quantity(value: Int64(doses)),
                                denominator: Quantity(value: value, unit: unit, system: "http://unitsofmeasure.org", code: unit))
            }
            if let reason = rule.reason { words += " (\(reason))" }
            let dosage = Dosage(text: [medication.dose, words].compactMap { $0 }.joined(separator: ", "), asNeededBoolean: true,
                                route: medication.route.map(CodeableConcept.init), maxDosePerPeriod: maximum)
            return MedicationRequest(id: FHIR.id(medication.id + "/" + DoseID.asNeeded), status: "active",
                                     medicationReference: Reference(reference: "Medication/" + FHIR.id(medication.id)),
                                     subject: Self.patient, dosageInstruction: [dosage])
        }

        /// A MedicationAdministration for an answered dose, or a missed one; nil while it is open.
        func administration(_ record: DoseRecord, requests: Set<String>) -> MedicationAdministration? {
            let state: DoseRecord.State
            if record.state == .pending {
                // Unanswered: missed once its window has closed, else not yet administered.
                guard Tally.outcome(record, now: now) == .missed else { return nil }
                state = .missed
            } else {
                state = record.state
            }
            let medication = config.medication(record.dose.medication)
            let schedule = record.dose.schedule
            let request = FHIR.id(record.dose.medication + "/" + schedule)
            var reason: [CodeableConcept]?
            if state != .taken {
                reason = [CodeableConcept(text: state.rawValue + (record.reason.map { ": \($0)" } ?? ""))]
            }
            let notes = notes.filter { $0.dose == record.id }.map { Annotation(text: $0.text) } + (record.note.map { [Annotation(text: $0)] } ?? [])
            let dosage = AdministrationDosage(text: medication?.dose(for: schedule),
                                              site: state == .taken ? record.site.map(CodeableConcept.init) : nil,
                                              route: medication?.route(for: schedule).map(CodeableConcept.init))
            return MedicationAdministration(
                id: FHIR.id(record.id), status: state == .taken ? "completed" : "not-done", statusReason: reason,
                medicationReference: Reference(reference: "Medication/" + FHIR.id(record.dose.medication)), subject: Self.patient,
                effectiveDateTime: RFC3339.utc(state == .taken ? record.answeredAt ?? record.dose.due : record.dose.due),
                request: requests.contains(request) ? Reference(reference: "MedicationRequest/" + request) : nil,
                note: notes.isEmpty ? nil : notes,
                dosage: dosage.text == nil && dosage.site == nil && dosage.route == nil ? nil : dosage)
        }

        /// A span as FHIR's `period` and `periodUnit`: the largest unit that divides it.
        static func period(_ span: Micros) -> (Int64, String) {
            let seconds = Swift.max(1, span / Civil.second)
            for (unit, size) in [("wk", 604_800), ("d", 86_400), ("h", 3600), ("min", 60)] as [(String, Int64)] where seconds % size == 0 {
                return (seconds / size, unit)
            }
            return (seconds, "s")
        }
    }
}
