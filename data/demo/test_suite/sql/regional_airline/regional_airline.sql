PRAGMA foreign_keys = ON;
BEGIN TRANSACTION;
CREATE TABLE "Airport" (
  "Airport_Code" TEXT PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Country" TEXT,
  "Elevation" INTEGER
);
CREATE TABLE "Aircraft" (
  "Aircraft_ID" INTEGER PRIMARY KEY,
  "Model" TEXT,
  "Manufacturer" TEXT,
  "Seats" INTEGER,
  "Range_km" INTEGER
);
CREATE TABLE "Pilot" (
  "Pilot_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Age" INTEGER,
  "Rank" TEXT,
  "Flight_Hours" INTEGER
);
CREATE TABLE "Flight" (
  "Flight_ID" INTEGER PRIMARY KEY,
  "Flight_Number" TEXT,
  "Origin_Code" TEXT,
  "Destination_Code" TEXT,
  "Aircraft_ID" INTEGER,
  "Pilot_ID" INTEGER,
  "Distance" INTEGER,
  "Price" REAL,
  FOREIGN KEY ("Origin_Code") REFERENCES "Airport"("Airport_Code"),
  FOREIGN KEY ("Destination_Code") REFERENCES "Airport"("Airport_Code"),
  FOREIGN KEY ("Aircraft_ID") REFERENCES "Aircraft"("Aircraft_ID"),
  FOREIGN KEY ("Pilot_ID") REFERENCES "Pilot"("Pilot_ID")
);
INSERT INTO "Airport" VALUES ('NRV', 'Northriver Regional', 'Northriver', 'Canada', 210);
INSERT INTO "Airport" VALUES ('ELM', 'Elmstead Field', 'Elmstead', 'Canada', 95);
INSERT INTO "Airport" VALUES ('PKH', 'Pike Harbor Airport', 'Pike Harbor', 'Canada', 12);
INSERT INTO "Airport" VALUES ('GLV', 'Glenvale International', 'Glenvale', 'United States', 340);
INSERT INTO "Airport" VALUES ('SRM', 'Stormont Municipal', 'Stormont', 'United States', 1480);
INSERT INTO "Airport" VALUES ('BAY', 'Baymouth Airport', 'Baymouth', 'United States', 8);
INSERT INTO "Airport" VALUES ('KTR', 'Kestrel Ridge Airfield', 'Kestrel Ridge', 'Canada', 920);
INSERT INTO "Airport" VALUES ('WLD', 'Wildmere Airport', 'Wildmere', 'United States', 605);
INSERT INTO "Airport" VALUES ('ASH', 'Ashgrove Field', 'Ashgrove', 'Canada', NULL);
INSERT INTO "Airport" VALUES ('CVN', 'Calvin Point Airport', 'Calvin Point', 'United States', 27);
INSERT INTO "Aircraft" VALUES (1, 'SkyHopper 50', 'Aerolite', 50, 1800);
INSERT INTO "Aircraft" VALUES (2, 'SkyHopper 70', 'Aerolite', 72, 2400);
INSERT INTO "Aircraft" VALUES (3, 'Condor C200', 'Vantage Aero', 96, 3100);
INSERT INTO "Aircraft" VALUES (4, 'Condor C300', 'Vantage Aero', 120, 3900);
INSERT INTO "Aircraft" VALUES (5, 'Puffin Twin', 'Northwind Works', 19, 1300);
INSERT INTO "Aircraft" VALUES (6, 'Puffin Twin', 'Northwind Works', 19, 1300);
INSERT INTO "Aircraft" VALUES (7, 'Meridian M9', 'Aerolite', 150, 5200);
INSERT INTO "Aircraft" VALUES (8, 'Heron 8', 'Northwind Works', 9, 900);
INSERT INTO "Pilot" VALUES (1, 'Julia Strand', 44, 'Captain', 12400);
INSERT INTO "Pilot" VALUES (2, 'Marco Bellini', 36, 'First Officer', 5200);
INSERT INTO "Pilot" VALUES (3, 'Naomi Clarke', 51, 'Captain', 18900);
INSERT INTO "Pilot" VALUES (4, 'Raj Patel', 29, 'First Officer', 2100);
INSERT INTO "Pilot" VALUES (5, 'Evan Doyle', 39, 'Captain', 9800);
INSERT INTO "Pilot" VALUES (6, 'Lea Moreau', 33, 'First Officer', 4300);
INSERT INTO "Pilot" VALUES (7, 'Henrik Dahl', 58, 'Captain', 22500);
INSERT INTO "Pilot" VALUES (8, 'Sofia Ruiz', 27, 'Second Officer', 1200);
INSERT INTO "Pilot" VALUES (9, 'Owen Pryce', 47, 'Captain', 15100);
INSERT INTO "Pilot" VALUES (10, 'Keiko Tanaka', 31, 'First Officer', 3700);
INSERT INTO "Flight" VALUES (1, 'RA101', 'NRV', 'ELM', 1, 1, 320, 129.0);
INSERT INTO "Flight" VALUES (2, 'RA102', 'ELM', 'NRV', 1, 2, 320, 129.0);
INSERT INTO "Flight" VALUES (3, 'RA210', 'NRV', 'PKH', 2, 3, 540, 159.5);
INSERT INTO "Flight" VALUES (4, 'RA211', 'PKH', 'NRV', 2, 3, 540, 159.5);
INSERT INTO "Flight" VALUES (5, 'RA305', 'GLV', 'SRM', 3, 5, 880, 210.0);
INSERT INTO "Flight" VALUES (6, 'RA306', 'SRM', 'GLV', 3, 7, 880, 205.0);
INSERT INTO "Flight" VALUES (7, 'RA412', 'GLV', 'BAY', 4, 9, 1210, 245.0);
INSERT INTO "Flight" VALUES (8, 'RA413', 'BAY', 'GLV', 4, 9, 1210, 239.0);
INSERT INTO "Flight" VALUES (9, 'RA520', 'KTR', 'NRV', 5, 4, 410, 189.0);
INSERT INTO "Flight" VALUES (10, 'RA521', 'NRV', 'KTR', 6, 6, 410, 189.0);
INSERT INTO "Flight" VALUES (11, 'RA630', 'WLD', 'GLV', 2, 2, 690, 175.0);
INSERT INTO "Flight" VALUES (12, 'RA631', 'GLV', 'WLD', 2, 10, 690, 175.0);
INSERT INTO "Flight" VALUES (13, 'RA740', 'BAY', 'CVN', 8, 8, 150, 99.0);
INSERT INTO "Flight" VALUES (14, 'RA741', 'CVN', 'BAY', 8, 8, 150, 99.0);
INSERT INTO "Flight" VALUES (15, 'RA850', 'NRV', 'GLV', 7, 1, 2150, 389.0);
INSERT INTO "Flight" VALUES (16, 'RA851', 'GLV', 'NRV', 7, 7, 2150, 379.0);
INSERT INTO "Flight" VALUES (17, 'RA902', 'PKH', 'ELM', 5, 4, 260, 112.0);
INSERT INTO "Flight" VALUES (18, 'RA903', 'ELM', 'PKH', 5, 6, 260, 112.0);
INSERT INTO "Flight" VALUES (19, 'RA960', 'SRM', 'WLD', 3, 5, 470, 148.0);
INSERT INTO "Flight" VALUES (20, 'RA961', 'WLD', 'SRM', 3, 9, 470, NULL);
INSERT INTO "Flight" VALUES (21, 'RA990', 'NRV', 'BAY', 4, 3, 2480, 410.0);
INSERT INTO "Flight" VALUES (22, 'RA991', 'BAY', 'NRV', 4, 1, 2480, 415.0);
COMMIT;
